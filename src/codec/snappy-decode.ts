/**
 * Snappy decompression, written for the read hot path (a block-cache miss decompresses one
 * block). snappyjs copies byte by byte; this decoder copies literals with `set` and
 * non-overlapping back-references with `copyWithin`, and checks every length and offset, so a
 * damaged stream throws instead of reading or writing out of bounds. Compression stays with
 * snappyjs (writes happen in the background).
 *
 * Format (github.com/google/snappy format_description.txt): varint uncompressed length, then
 * elements; the low 2 bits of a tag byte give the kind:
 *   00 literal: length-1 in the upper 6 bits, or 60..63 = 1..4 following bytes hold length-1
 *   01 copy:    length-4 in bits 2..4, offset = bits 5..7 << 8 | next byte
 *   10 copy:    length-1 in the upper 6 bits, offset = next 2 bytes LE
 *   11 copy:    length-1 in the upper 6 bits, offset = next 4 bytes LE
 */

export class SnappyError extends Error {
  constructor(message: string) {
    super(`snappy: ${message}`);
    this.name = 'SnappyError';
  }
}

/** Decompresses `src`; throws SnappyError if it is malformed or would exceed `maxLength`. */
export function snappyDecode(src: Uint8Array, maxLength = Infinity): Uint8Array {
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
  const out = new Uint8Array(length);
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
      if (len < 16) {
        for (let i = 0; i < len; i++) out[op + i] = src[pos + i]!;
      } else {
        out.set(src.subarray(pos, pos + len), op);
      }
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
    if (offset >= len && len >= 16) {
      out.copyWithin(op, from, from + len);
    } else {
      // Overlapping (a run) or short: byte by byte repeats the pattern as snappy requires.
      for (let i = 0; i < len; i++) out[op + i] = out[from + i]!;
    }
    op += len;
  }
  if (op !== length) throw new SnappyError(`stream ends after ${op} of ${length} bytes`);
  return out;
}
