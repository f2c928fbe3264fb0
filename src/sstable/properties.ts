/**
 * The properties block: what a table knows about itself, so that its TableMeta can be rebuilt
 * from the file alone. Encoding: (tag varint, length varint, bytes)*, tags from format.ts
 * `PropertyTag`; numbers are varints that must fill their bytes exactly. Unknown tags are
 * skipped; a missing required tag is damage.
 */
import { compareInternal, TRAILER_BYTES } from '../codec/keys.js';
import { getVarint, putVarint, varintLength } from '../codec/varint.js';
import { PropertyTag } from './format.js';

export interface TableProperties {
  entries: number;
  minVersion: number;
  maxVersion: number;
  smallest: Uint8Array;
  largest: Uint8Array;
  dataBlocks: number;
  tombstones: number;
  rawKeyBytes: number;
  rawValueBytes: number;
  /** Earliest expiry (unix seconds) of an entry with a TTL; 0 if none has one. Optional on disk. */
  minExpiresAt: number;
  /** Latest expiry of an entry with a TTL; 0 if none has one. Optional on disk. */
  maxExpiresAt: number;
  /** Entries with a TTL. Optional on disk. */
  expiringEntries: number;
}

/** Number properties; an optional one is written only when not 0, and absent reads as 0. */
const numberTags: readonly [tag: PropertyTag, name: keyof TableProperties, optional?: true][] = [
  [PropertyTag.Entries, 'entries'],
  [PropertyTag.MinVersion, 'minVersion'],
  [PropertyTag.MaxVersion, 'maxVersion'],
  [PropertyTag.DataBlocks, 'dataBlocks'],
  [PropertyTag.Tombstones, 'tombstones'],
  [PropertyTag.RawKeyBytes, 'rawKeyBytes'],
  [PropertyTag.RawValueBytes, 'rawValueBytes'],
  [PropertyTag.MinExpiresAt, 'minExpiresAt', true],
  [PropertyTag.MaxExpiresAt, 'maxExpiresAt', true],
  [PropertyTag.ExpiringEntries, 'expiringEntries', true],
];

export function encodeProperties(p: TableProperties): Uint8Array {
  const fields: [number, Uint8Array][] = [];
  for (const [tag, name, optional] of numberTags) {
    const v = p[name] as number;
    if (optional === true && v === 0) continue;
    const b = new Uint8Array(varintLength(v));
    putVarint(b, 0, v);
    fields.push([tag, b]);
  }
  fields.push([PropertyTag.SmallestKey, p.smallest], [PropertyTag.LargestKey, p.largest]);
  let len = 0;
  for (const [tag, b] of fields) len += varintLength(tag) + varintLength(b.length) + b.length;
  const out = new Uint8Array(len);
  let pos = 0;
  for (const [tag, b] of fields) {
    pos = putVarint(out, pos, tag);
    pos = putVarint(out, pos, b.length);
    out.set(b, pos);
    pos += b.length;
  }
  return out;
}

/** Parses and sanity-checks a properties block; returns an error message on damage. */
export function decodeProperties(b: Uint8Array): TableProperties | string {
  const nums = new Map<number, number>();
  const bytes = new Map<number, Uint8Array>();
  const cursor = { pos: 0 };
  while (cursor.pos < b.length) {
    const tag = getVarint(b, cursor);
    if (tag < 0) return `bad tag varint at ${cursor.pos}`;
    const len = getVarint(b, cursor);
    if (len < 0 || cursor.pos + len > b.length) return `bad length of property ${tag}`;
    const start = cursor.pos;
    const end = start + len;
    cursor.pos = end;
    if (tag === PropertyTag.SmallestKey || tag === PropertyTag.LargestKey) {
      bytes.set(tag, b.slice(start, end));
    } else if (numberTags.some(([t]) => t === tag)) {
      const c = { pos: start };
      const v = getVarint(b, c, end);
      if (v < 0 || c.pos !== end || !Number.isSafeInteger(v)) return `bad number in property ${tag}`;
      nums.set(tag, v);
    }
    // Unknown tags are skipped: a newer writer may add properties an older reader ignores.
  }
  const smallest = bytes.get(PropertyTag.SmallestKey);
  const largest = bytes.get(PropertyTag.LargestKey);
  if (smallest === undefined || largest === undefined) return 'smallest or largest key missing';
  const p: TableProperties = {
    entries: 0,
    minVersion: 0,
    maxVersion: 0,
    smallest,
    largest,
    dataBlocks: 0,
    tombstones: 0,
    rawKeyBytes: 0,
    rawValueBytes: 0,
    minExpiresAt: 0,
    maxExpiresAt: 0,
    expiringEntries: 0,
  };
  for (const [tag, name, optional] of numberTags) {
    const v = nums.get(tag) ?? (optional === true ? 0 : undefined);
    if (v === undefined) return `property ${name} missing`;
    (p as unknown as Record<string, number>)[name] = v;
  }
  if (smallest.length < TRAILER_BYTES || largest.length < TRAILER_BYTES) return 'smallest or largest key too short';
  if (compareInternal(smallest, largest) > 0) return 'smallest key sorts after largest key';
  if (p.minVersion > p.maxVersion) return 'minVersion is above maxVersion';
  if (p.dataBlocks < 1 || p.entries < p.dataBlocks || p.tombstones > p.entries) return 'entry counts are inconsistent';
  // A table from before tags 11 and 12 has minExpiresAt alone (count and latest expiry 0).
  if (p.expiringEntries + p.tombstones > p.entries || (p.expiringEntries > 0 && (p.minExpiresAt === 0 || p.minExpiresAt > p.maxExpiresAt))) {
    return 'expiry properties are inconsistent';
  }
  return p;
}
