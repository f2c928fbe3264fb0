/**
 * Snappy compression, written for the merge hot path: every block a flush or compaction writes
 * goes through here, and on a large random fill it was a third of a compaction's time with
 * snappyjs (whose hash multiplies doubles and whose copies go byte by byte).
 *
 * The algorithm is Snappy's reference one (one 64 KiB fragment at a time, a hash table of
 * 4-byte sequences, lookups spaced further apart the longer nothing matches), so the output is
 * ordinary Snappy that any decoder reads; the speed comes from 32-bit integer arithmetic
 * (Math.imul hash, whole-word compares) and `set` for long literals.
 *
 * Format (github.com/google/snappy format_description.txt): varint uncompressed length, then
 * elements; see snappy-decode.ts.
 */
import { copyBytes } from './copy.js';

const FRAGMENT = 1 << 16;
const MAX_TABLE_BITS = 14;
const MIN_TABLE_BITS = 8;
/** Inputs shorter than this are stored as one literal (no 4-byte loads near the end). */
const INPUT_MARGIN = 15;

const table = new Uint16Array(1 << MAX_TABLE_BITS);
const SCRATCH_BYTES = 64 * 1024;
let scratch = new Uint8Array(0);
let scratchView = new DataView(scratch.buffer);

/** Upper bound of the compressed size of `n` bytes (the reference's MaxCompressedLength). */
export function snappyMaxLength(n: number): number {
  return 32 + n + Math.floor(n / 6);
}

function emitLiteral(src: Uint8Array, v: DataView, from: number, len: number, out: Uint8Array, ov: DataView, op: number): number {
  const n = len - 1;
  if (n < 60) {
    out[op++] = n << 2;
  } else if (n < 0x100) {
    out[op++] = 60 << 2;
    out[op++] = n;
  } else {
    // A fragment is at most 64 KiB, so two length bytes always suffice.
    out[op++] = 61 << 2;
    out[op++] = n & 0xff;
    out[op++] = n >>> 8;
  }
  copyBytes(src, v, from, out, ov, op, len);
  return op + len;
}

/** One copy element of 4..64 bytes. */
function emitCopyUpTo64(out: Uint8Array, op: number, offset: number, len: number): number {
  if (len < 12 && offset < 2048) {
    out[op] = 1 | ((len - 4) << 2) | ((offset >>> 8) << 5);
    out[op + 1] = offset & 0xff;
    return op + 2;
  }
  out[op] = 2 | ((len - 1) << 2);
  out[op + 1] = offset & 0xff;
  out[op + 2] = offset >>> 8;
  return op + 3;
}

function emitCopy(out: Uint8Array, op: number, offset: number, len: number): number {
  // Pieces of 64, leaving at least 4 for the last one.
  while (len >= 68) {
    op = emitCopyUpTo64(out, op, offset, 64);
    len -= 64;
  }
  if (len > 64) {
    op = emitCopyUpTo64(out, op, offset, 60);
    len -= 60;
  }
  return emitCopyUpTo64(out, op, offset, len);
}

function compressFragment(src: Uint8Array, v: DataView, start: number, end: number, out: Uint8Array, ov: DataView, op: number): number {
  const size = end - start;
  let nextEmit = start;
  if (size >= INPUT_MARGIN) {
    let bits = MIN_TABLE_BITS;
    while (bits < MAX_TABLE_BITS && 1 << bits < size) bits++;
    const shift = 32 - bits;
    table.fill(0, 0, 1 << bits);
    const limit = end - INPUT_MARGIN;
    let ip = start + 1;
    outer: for (;;) {
      // Find a 4-byte match; after 32 misses, step 2 bytes, after 64, 3, ...
      let skip = 32;
      let nextIp = ip;
      let candidate = 0;
      let nextWord = v.getInt32(ip, true);
      for (;;) {
        ip = nextIp;
        const word = nextWord;
        const hash = Math.imul(word, 0x1e35a7bd) >>> shift;
        nextIp = ip + (skip >>> 5);
        skip++;
        if (nextIp > limit) break outer;
        nextWord = v.getInt32(nextIp, true);
        candidate = start + table[hash]!;
        table[hash] = ip - start;
        if (word === v.getInt32(candidate, true)) break;
      }
      op = emitLiteral(src, v, nextEmit, ip - nextEmit, out, ov, op);
      // Emit copies for as long as the byte after one starts another match.
      for (;;) {
        const base = ip;
        let matched = 4;
        while (ip + matched + 4 <= end && v.getInt32(ip + matched, true) === v.getInt32(candidate + matched, true)) matched += 4;
        while (ip + matched < end && src[ip + matched] === src[candidate + matched]) matched++;
        ip += matched;
        op = emitCopy(out, op, base - candidate, matched);
        nextEmit = ip;
        if (ip >= limit) break outer;
        table[Math.imul(v.getInt32(ip - 1, true), 0x1e35a7bd) >>> shift] = ip - 1 - start;
        const h = Math.imul(v.getInt32(ip, true), 0x1e35a7bd) >>> shift;
        candidate = start + table[h]!;
        table[h] = ip - start;
        if (v.getInt32(ip, true) !== v.getInt32(candidate, true)) break;
      }
      ip++;
    }
  }
  if (nextEmit < end) op = emitLiteral(src, v, nextEmit, end - nextEmit, out, ov, op);
  return op;
}

/**
 * Compresses `src`. Returns a view into a buffer this module may reuse: valid until the next
 * call, so copy it (or write it) before compressing anything else.
 */
export function snappyEncode(src: Uint8Array): Uint8Array {
  const need = snappyMaxLength(src.length);
  let out = scratch;
  if (out.length < need) {
    // Blocks are a few KiB; a block holding one huge value gets a buffer of its own, so a
    // thread does not keep megabytes of scratch for good.
    out = new Uint8Array(Math.max(need, SCRATCH_BYTES));
    if (need <= SCRATCH_BYTES) {
      scratch = out;
      scratchView = new DataView(out.buffer);
    }
  }
  // Whole-word loads through a DataView are what make this fast (V8 inlines them; four
  // byte loads and shifts cost twice as much).
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const outView = out === scratch ? scratchView : new DataView(out.buffer, out.byteOffset, out.byteLength);
  let op = 0;
  let n = src.length;
  while (n >= 0x80) {
    out[op++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  out[op++] = n;
  for (let p = 0; p < src.length; p += FRAGMENT) op = compressFragment(src, view, p, Math.min(p + FRAGMENT, src.length), out, outView, op);
  return out.subarray(0, op);
}
