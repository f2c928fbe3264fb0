/**
 * The plain sorted-map model that randomized tests compare the engine with, and the helpers
 * that make their failure output readable (keys and values printed so that a sequence can be
 * pasted back into a test).
 *
 * Keys are held as lowercase hex strings: comparing hex strings compares the bytes (a shorter
 * key that is a prefix of a longer one sorts first in both), so a JS sort gives byte order.
 */
import { compareBytes, toHex } from '../../src/codec/bytes.js';

export interface RangeSpec {
  gt?: Uint8Array;
  gte?: Uint8Array;
  lt?: Uint8Array;
  lte?: Uint8Array;
  prefix?: Uint8Array;
  reverse?: boolean;
  limit?: number;
  keysOnly?: boolean;
}

export type WriteOp = { type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array };

export function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function startsWith(k: Uint8Array, p: Uint8Array): boolean {
  if (k.length < p.length) return false;
  for (let i = 0; i < p.length; i++) if (k[i] !== p[i]) return false;
  return true;
}

export class KVModel {
  readonly map: Map<string, Uint8Array>;

  constructor(map?: Map<string, Uint8Array>) {
    this.map = new Map(map);
  }

  clone(): KVModel {
    return new KVModel(this.map);
  }

  apply(op: WriteOp): void {
    if (op.type === 'put') this.map.set(toHex(op.key), op.value);
    else this.map.delete(toHex(op.key));
  }

  applyAll(ops: readonly WriteOp[]): void {
    for (const op of ops) this.apply(op);
  }

  get(key: Uint8Array): Uint8Array | undefined {
    return this.map.get(toHex(key));
  }

  /** Entries in key order. */
  entries(): [Uint8Array, Uint8Array][] {
    return [...this.map.keys()].sort().map((h) => [fromHex(h), this.map.get(h)!]);
  }

  /** What an iterator with these options returns (keysOnly: empty values). */
  range(o: RangeSpec): [Uint8Array, Uint8Array][] {
    let out = this.entries().filter(([k]) => {
      if (o.gt !== undefined && compareBytes(k, o.gt) <= 0) return false;
      if (o.gte !== undefined && compareBytes(k, o.gte) < 0) return false;
      if (o.lt !== undefined && compareBytes(k, o.lt) >= 0) return false;
      if (o.lte !== undefined && compareBytes(k, o.lte) > 0) return false;
      if (o.prefix !== undefined && !startsWith(k, o.prefix)) return false;
      return true;
    });
    if (o.reverse === true) out.reverse();
    if (o.limit !== undefined && o.limit >= 0) out = out.slice(0, o.limit);
    if (o.keysOnly === true) out = out.map(([k]) => [k, new Uint8Array(0)]);
    return out;
  }

  /** Same content as `other`? */
  equals(other: KVModel): boolean {
    if (this.map.size !== other.map.size) return false;
    for (const [k, v] of this.map) {
      const w = other.map.get(k);
      if (w === undefined || toHex(w) !== toHex(v)) return false;
    }
    return true;
  }
}

/** A key as a JS string literal: printable ASCII as is, other bytes as \xNN. */
export function showKey(k: Uint8Array | undefined): string {
  if (k === undefined) return 'undefined';
  let s = '';
  for (const c of k) s += c >= 0x20 && c < 0x7f && c !== 0x27 && c !== 0x5c ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
  return `'${s}'`;
}

/** A value, shortened: its first bytes and its length. */
export function showValue(v: Uint8Array | undefined): string {
  if (v === undefined) return 'undefined';
  const head = showKey(v.subarray(0, 12));
  return v.length <= 12 ? head : `${head}…(${v.length}B)`;
}

export function showEntries(entries: readonly [Uint8Array, Uint8Array][]): string {
  return `[${entries.map(([k, v]) => `${showKey(k)}=${showValue(v)}`).join(', ')}]`;
}

export function showRange(o: RangeSpec): string {
  const parts: string[] = [];
  for (const name of ['gt', 'gte', 'lt', 'lte', 'prefix'] as const) if (o[name] !== undefined) parts.push(`${name}: ${showKey(o[name])}`);
  if (o.limit !== undefined) parts.push(`limit: ${o.limit}`);
  if (o.reverse === true) parts.push('reverse: true');
  if (o.keysOnly === true) parts.push('keysOnly: true');
  return `{ ${parts.join(', ')} }`;
}

export function showOp(op: WriteOp): string {
  return op.type === 'put' ? `put ${showKey(op.key)}=${showValue(op.value)}` : `del ${showKey(op.key)}`;
}

/** Entries rendered for comparison in assertion messages (hex, exact). */
export function entriesHex(entries: readonly [Uint8Array, Uint8Array][]): string[] {
  return entries.map(([k, v]) => `${toHex(k)}=${toHex(v)}`);
}
