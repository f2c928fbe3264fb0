/**
 * Snappy decompression, written for the read hot path (a block-cache miss decompresses one
 * block) and for compaction, which decompresses every block it reads. Literals and
 * back-references are copied a 32-bit word at a time (long literals with `set`), and every
 * length and offset is checked, so a damaged stream throws instead of reading or writing out of
 * bounds. The encoder is snappy-encode.ts.
 *
 * Format (github.com/google/snappy format_description.txt): varint uncompressed length, then
 * elements; the low 2 bits of a tag byte give the kind:
 *   00 literal: length-1 in the upper 6 bits, or 60..63 = 1..4 following bytes hold length-1
 *   01 copy:    length-4 in bits 2..4, offset = bits 5..7 << 8 | next byte
 *   10 copy:    length-1 in the upper 6 bits, offset = next 2 bytes LE
 *   11 copy:    length-1 in the upper 6 bits, offset = next 4 bytes LE
 */
import { copyBytes } from './copy.js';

export class SnappyError extends Error {
  constructor(message: string) {
    super(`snappy: ${message}`);
    this.name = 'SnappyError';
  }
}

/**
 * The uncompressed length a snappy stream src[start, end) declares in its header, or -1 if the
 * header is malformed. Only a size hint: the stream itself is checked when decoded.
 */
export function snappyDecodedLength(src: Uint8Array, start: number, end: number): number {
  let length = 0;
  let shift = 1;
  for (let pos = start; pos < end && pos < start + 5; pos++) {
    const b = src[pos]!;
    length += (b & 0x7f) * shift;
    if (b < 0x80) return length;
    shift *= 128;
  }
  return -1;
}

/**
 * Decompresses `src`; throws SnappyError if it is malformed or would exceed `maxLength`. With
 * `into` large enough, the output is written there and a view of it returned (no allocation);
 * otherwise into a fresh array.
 */
export function snappyDecode(src: Uint8Array, maxLength = Infinity, into?: Uint8Array): Uint8Array {
  const end = src.length;
  let pos = 0;
  let length = 0;
  let shift = 1;
  for (let i = 0; ; i++) {
    if (pos >= end || i >= 5) throw new SnappyError('bad length header');
    const b = src[pos++]!;
    length += (b & 0x7f) * shift;
    if (b < 0x80) break;
    shift *= 128;
  }
  if (length > maxLength) throw new SnappyError(`uncompressed length ${length} exceeds ${maxLength}`);
  const out = into !== undefined && into.length >= length ? into.subarray(0, length) : new Uint8Array(length);
  // Word copies through DataViews: V8 inlines them, and snappy's elements are short (copies at
  // most 64 bytes), where set/copyWithin cost more in call overhead than they save.
  const sv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const ov = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let op = 0;
  while (pos < end) {
    const tag = src[pos++]!;
    const kind = tag & 3;
    if (kind === 0) {
      let len = tag >>> 2;
      if (len >= 60) {
        const extra = len - 59;
        if (pos + extra > end) throw new SnappyError('truncated literal length');
        len = 0;
        for (let i = 0; i < extra; i++) len |= src[pos + i]! << (8 * i);
        len >>>= 0;
        pos += extra;
      }
      len += 1;
      if (pos + len > end || op + len > length) throw new SnappyError('literal runs past the end');
      copyBytes(src, sv, pos, out, ov, op, len);
      pos += len;
      op += len;
      continue;
    }
    let len: number;
    let offset: number;
    if (kind === 1) {
      if (pos >= end) throw new SnappyError('truncated copy');
      len = ((tag >>> 2) & 7) + 4;
      offset = ((tag >>> 5) << 8) | src[pos++]!;
    } else if (kind === 2) {
      if (pos + 2 > end) throw new SnappyError('truncated copy');
      len = (tag >>> 2) + 1;
      offset = src[pos]! | (src[pos + 1]! << 8);
      pos += 2;
    } else {
      if (pos + 4 > end) throw new SnappyError('truncated copy');
      len = (tag >>> 2) + 1;
      offset = (src[pos]! | (src[pos + 1]! << 8) | (src[pos + 2]! << 16) | (src[pos + 3]! << 24)) >>> 0;
      pos += 4;
    }
    if (offset === 0 || offset > op) throw new SnappyError('copy offset out of range');
    if (op + len > length) throw new SnappyError('copy runs past the end');
    const from = op - offset;
    if (offset >= len && len > 64) {
      out.copyWithin(op, from, from + len);
    } else {
      // Forward copying repeats the pattern of an overlapping copy (a run) as snappy requires;
      // whole words do too while the offset is at least 4 (each word read lies before the
      // write position).
      let i = 0;
      if (offset >= 4) for (; i + 4 <= len; i += 4) ov.setInt32(op + i, ov.getInt32(from + i, true), true);
      for (; i < len; i++) out[op + i] = out[from + i]!;
    }
    op += len;
  }
  if (op !== length) throw new SnappyError(`stream ends after ${op} of ${length} bytes`);
  return out;
}
