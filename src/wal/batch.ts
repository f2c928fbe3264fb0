/**
 * The byte form of a write batch, built once and used three times: framed in place as a WAL
 * record, applied to the memtable, and replayed after a crash. Layout of the record payload:
 *
 *   base version u64 LE | count u32 LE | [follows u64 LE] | count × entry
 *   entry = key length varint | key | encoded value length varint | encoded value (codec/value.ts)
 *
 * Entry i gets version base + i, so a later write of the same key in one batch wins.
 * A batch committed at a caller-chosen version (a transaction's commit({ version })) sets bit 31
 * of count (SAME_VERSION): all its entries carry the base version (its keys are distinct), and
 * the header holds `follows`, the last version written before it, so recovery can still tell a
 * gap from lost writes.
 * The buffer keeps RECORD_HEADER_BYTES free at its start so the record can be framed without
 * copying the payload.
 */
import { ErrCorruption } from '../api/errors.js';
import { getU32, getU64, putU32, putU64 } from '../codec/bytes.js';
import { EntryKind, encodedValueLength, writeEncodedValue } from '../codec/value.js';
import { getVarint, putVarint, varintLength } from '../codec/varint.js';
import { LogKind, RECORD_HEADER_BYTES, RecordType } from './format.js';
import { frameRecordInPlace, type RecordSuccession } from './record.js';

export const BATCH_HEADER_BYTES = 12;
/** Header of a SAME_VERSION batch: base, count with the flag, follows. */
const SAME_VERSION_HEADER_BYTES = 20;
/** Flag in the count field: every entry carries the base version. */
export const SAME_VERSION = 0x8000_0000;
const PAYLOAD_START = RECORD_HEADER_BYTES;
const ENTRIES_START = RECORD_HEADER_BYTES + BATCH_HEADER_BYTES;

export class BatchRep {
  buf: Uint8Array;
  /** Where the entries start (after the record and batch headers). */
  readonly entriesStart: number;
  /** Every entry carries one version (given by the committer); keys must be distinct. */
  readonly sameVersion: boolean;
  /** End of the encoded entries. */
  length: number;
  count = 0;
  /** Sum of key and value lengths (user bytes), for stats and limits. */
  userBytes = 0;

  constructor(initialBytes = 256, sameVersion = false) {
    this.sameVersion = sameVersion;
    this.entriesStart = PAYLOAD_START + (sameVersion ? SAME_VERSION_HEADER_BYTES : BATCH_HEADER_BYTES);
    this.length = this.entriesStart;
    this.buf = new Uint8Array(Math.max(initialBytes, this.entriesStart + 32));
  }

  /** Versions this batch takes when it starts at `base`: the last one it uses. */
  lastVersion(base: number): number {
    return this.sameVersion ? base : base + this.count - 1;
  }

  private ensure(extra: number): void {
    const need = this.length + extra;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  add(kind: EntryKind, key: Uint8Array, value: Uint8Array | undefined, expiresAt = 0, userMeta = -1): void {
    const vlen = encodedValueLength(value?.length ?? 0, expiresAt, userMeta >= 0);
    this.ensure(varintLength(key.length) + key.length + varintLength(vlen) + vlen);
    let p = putVarint(this.buf, this.length, key.length);
    this.buf.set(key, p);
    p += key.length;
    p = putVarint(this.buf, p, vlen);
    p = writeEncodedValue(this.buf, p, kind, value, expiresAt, userMeta);
    this.length = p;
    this.count++;
    this.userBytes += key.length + (value?.length ?? 0);
  }

  reset(): void {
    this.length = this.entriesStart;
    this.count = 0;
    this.userBytes = 0;
  }

  /** Payload bytes of the record (header excluded). */
  payloadLength(): number {
    return this.length - PAYLOAD_START;
  }

  /**
   * Stamps the base version and frames the WAL record in place; returns the record bytes.
   * `follows` is the last version written before this batch (kept only by SAME_VERSION batches).
   */
  frame(baseVersion: number, follows = baseVersion - 1): Uint8Array {
    putU64(this.buf, PAYLOAD_START, baseVersion);
    if (this.sameVersion) {
      putU32(this.buf, PAYLOAD_START + 8, (this.count | SAME_VERSION) >>> 0);
      putU64(this.buf, PAYLOAD_START + 12, follows);
    } else putU32(this.buf, PAYLOAD_START + 8, this.count);
    frameRecordInPlace(this.buf, 0, RecordType.Data, this.length - PAYLOAD_START);
    return this.buf.subarray(0, this.length);
  }
}

/** Receives the entries of a decoded batch. */
export interface BatchVisitor {
  entry(key: Uint8Array, version: number, encodedValue: Uint8Array): void;
}

/** Walks the entries of the batch held in `rep` (not yet framed: base is passed in). */
export function forEachEntry(buf: Uint8Array, entriesStart: number, end: number, count: number, base: number, sameVersion: boolean, visit: BatchVisitor, where: { file: string; offset: number }): void {
  const cursor = { pos: entriesStart };
  for (let i = 0; i < count; i++) {
    const klen = getVarint(buf, cursor, end);
    if (klen < 0 || cursor.pos + klen > end) throw new ErrCorruption('bad key length in batch', where);
    const key = buf.subarray(cursor.pos, cursor.pos + klen);
    cursor.pos += klen;
    const vlen = getVarint(buf, cursor, end);
    if (vlen < 1 || cursor.pos + vlen > end) throw new ErrCorruption('bad value length in batch', where);
    const value = buf.subarray(cursor.pos, cursor.pos + vlen);
    cursor.pos += vlen;
    visit.entry(key, sameVersion ? base : base + i, value);
  }
  if (cursor.pos !== end) throw new ErrCorruption('trailing bytes after batch entries', where);
}

export function visitBatchRep(rep: BatchRep, base: number, visit: BatchVisitor): void {
  forEachEntry(rep.buf, rep.entriesStart, rep.length, rep.count, base, rep.sameVersion, visit, { file: '<batch>', offset: 0 });
}

/** What a WAL batch record's header says. */
export interface BatchHeader {
  base: number;
  count: number;
  /** Last version used by the batch (base - 1 for an empty one). */
  last: number;
  /** Last version written before this batch. */
  follows: number;
  /** Committed at one caller-chosen version. */
  sameVersion: boolean;
}

/**
 * The header of the batch payload at buf[at, end): undefined if those bytes are too few to hold
 * it, or (a same-version batch) it claims to follow a version at or above its own.
 */
export function readBatchHeader(buf: Uint8Array, at: number, end: number): BatchHeader | undefined {
  if (end - at < BATCH_HEADER_BYTES) return undefined;
  const base = getU64(buf, at);
  const raw = getU32(buf, at + 8);
  const count = raw & 0x7fff_ffff;
  if ((raw & SAME_VERSION) === 0) return { base, count, last: base + count - 1, follows: base - 1, sameVersion: false };
  if (end - at < SAME_VERSION_HEADER_BYTES) return undefined;
  const follows = getU64(buf, at + 12);
  if (follows >= base) return undefined;
  return { base, count, last: count === 0 ? base - 1 : base, follows, sameVersion: true };
}

/** Decodes a WAL data record payload (from replay) and visits its entries. */
export function visitBatchPayload(payload: Uint8Array, visit: BatchVisitor, where: { file: string; offset: number }): BatchHeader {
  const h = readBatchHeader(payload, 0, payload.length);
  if (h === undefined) {
    const same = payload.length >= BATCH_HEADER_BYTES && (getU32(payload, 8) & SAME_VERSION) !== 0;
    if (!same || payload.length < SAME_VERSION_HEADER_BYTES) throw new ErrCorruption('batch record too short', where);
    throw new ErrCorruption(`batch at version ${getU64(payload, 0)} claims to follow version ${getU64(payload, 12)}`, where);
  }
  forEachEntry(payload, h.sameVersion ? SAME_VERSION_HEADER_BYTES : BATCH_HEADER_BYTES, payload.length, h.count, h.base, h.sameVersion, visit, where);
  return h;
}

/**
 * Whether the WAL record whose payload starts at `next` (possibly cut short) is the one written
 * right after the record whose payload starts at `prev`: its batch follows the last version of
 * that batch (every write takes the version after the last one written, or names it). Used on
 * the damaged path of replay (record.ts `isTornTail`), where `prev`'s length field is in doubt
 * but its header is not; random bytes pass with a chance of about 2^-53.
 */
export function walRecordFollows(data: Uint8Array, prev: number, next: number, end: number): boolean {
  const a = readBatchHeader(data, prev, end);
  const b = readBatchHeader(data, next, end);
  return a !== undefined && b !== undefined && b.follows === a.last;
}

/** The succession rule of a log kind for `scanLog`/`isTornTail`: the WAL's batch versions; manifests have none. */
export function logSuccession(kind: LogKind): RecordSuccession | undefined {
  return kind === LogKind.Wal ? walRecordFollows : undefined;
}

/** Entry count of a WAL batch payload (for sizing before replay); 0 if too short. */
export function batchPayloadCount(payload: Uint8Array): number {
  return payload.length >= BATCH_HEADER_BYTES ? getU32(payload, 8) & 0x7fff_ffff : 0;
}
