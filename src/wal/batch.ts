/**
 * The byte form of a write batch, built once and used three times: framed in place as a WAL
 * record, applied to the memtable, and replayed after a crash. Layout of the record payload:
 *
 *   base version u64 LE | count u32 LE | count × entry
 *   entry = key length varint | key | encoded value length varint | encoded value (codec/value.ts)
 *
 * Entry i gets version base + i, so a later write of the same key in one batch wins.
 * The buffer keeps RECORD_HEADER_BYTES free at its start so the record can be framed without
 * copying the payload.
 */
import { ErrCorruption } from '../api/errors.js';
import { getU32, getU64, putU32, putU64 } from '../codec/bytes.js';
import { EntryKind, encodedValueLength, writeEncodedValue } from '../codec/value.js';
import { getVarint, putVarint, varintLength } from '../codec/varint.js';
import { RECORD_HEADER_BYTES, RecordType } from './format.js';
import { frameRecordInPlace } from './record.js';

export const BATCH_HEADER_BYTES = 12;
const PAYLOAD_START = RECORD_HEADER_BYTES;
const ENTRIES_START = RECORD_HEADER_BYTES + BATCH_HEADER_BYTES;

export class BatchRep {
  buf: Uint8Array;
  /** End of the encoded entries. */
  length = ENTRIES_START;
  count = 0;
  /** Sum of key and value lengths (user bytes), for stats and limits. */
  userBytes = 0;

  constructor(initialBytes = 256) {
    this.buf = new Uint8Array(Math.max(initialBytes, ENTRIES_START + 32));
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
    this.length = ENTRIES_START;
    this.count = 0;
    this.userBytes = 0;
  }

  /** Payload bytes of the record (header excluded). */
  payloadLength(): number {
    return this.length - PAYLOAD_START;
  }

  /** Stamps the base version and frames the WAL record in place; returns the record bytes. */
  frame(baseVersion: number): Uint8Array {
    putU64(this.buf, PAYLOAD_START, baseVersion);
    putU32(this.buf, PAYLOAD_START + 8, this.count);
    frameRecordInPlace(this.buf, 0, RecordType.Data, this.length - PAYLOAD_START);
    return this.buf.subarray(0, this.length);
  }
}

/** Receives the entries of a decoded batch. */
export interface BatchVisitor {
  entry(key: Uint8Array, version: number, encodedValue: Uint8Array): void;
}

/** Walks the entries of the batch held in `rep` (not yet framed: base is passed in). */
export function forEachEntry(buf: Uint8Array, entriesStart: number, end: number, count: number, base: number, visit: BatchVisitor, where: { file: string; offset: number }): void {
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
    visit.entry(key, base + i, value);
  }
  if (cursor.pos !== end) throw new ErrCorruption('trailing bytes after batch entries', where);
}

export function visitBatchRep(rep: BatchRep, base: number, visit: BatchVisitor): void {
  forEachEntry(rep.buf, ENTRIES_START, rep.length, rep.count, base, visit, { file: '<batch>', offset: 0 });
}

/** Decodes a WAL data record payload (from replay) and visits its entries. Returns the last version used, or base-1 for an empty batch. */
export function visitBatchPayload(payload: Uint8Array, visit: BatchVisitor, where: { file: string; offset: number }): { base: number; count: number } {
  if (payload.length < BATCH_HEADER_BYTES) throw new ErrCorruption('batch record too short', where);
  const base = getU64(payload, 0);
  const count = getU32(payload, 8);
  forEachEntry(payload, BATCH_HEADER_BYTES, payload.length, count, base, visit, where);
  return { base, count };
}

export { ENTRIES_START as BATCH_ENTRIES_START };
