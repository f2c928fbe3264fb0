/**
 * compareInternal (codec/keys.ts) over byte ranges, so that keys inside blocks and index
 * buffers are compared in place, without views. Internal keys order by user key (bytes, shorter
 * first on a tie), then by the 8-byte trailer. Both ranges must be at least 8 bytes long.
 *
 * The loops read four bytes at a time as big-endian words: keys in one table share long
 * prefixes, so most of a comparison is spent walking equal bytes.
 */
import { TRAILER_BYTES } from '../codec/keys.js';

function word(b: Uint8Array, p: number): number {
  return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
}

/** Lexicographic comparison of a[as, as + n) with b[bs, bs + n) (equal lengths). */
function compareSameLength(a: Uint8Array, as: number, b: Uint8Array, bs: number, n: number): number {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const x = word(a, as + i);
    const y = word(b, bs + i);
    if (x !== y) return x < y ? -1 : 1;
  }
  for (; i < n; i++) {
    const d = a[as + i]! - b[bs + i]!;
    if (d !== 0) return d;
  }
  return 0;
}

export function compareInternalRange(
  a: Uint8Array,
  aStart: number,
  aEnd: number,
  b: Uint8Array,
  bStart: number,
  bEnd: number,
): number {
  const aUser = aEnd - aStart - TRAILER_BYTES;
  const bUser = bEnd - bStart - TRAILER_BYTES;
  const c = compareSameLength(a, aStart, b, bStart, aUser < bUser ? aUser : bUser);
  if (c !== 0) return c;
  if (aUser !== bUser) return aUser - bUser;
  return compareSameLength(a, aEnd - TRAILER_BYTES, b, bEnd - TRAILER_BYTES, TRAILER_BYTES);
}

/** Compares the user key in a[aStart, aEnd) with the user key in b[bStart, bEnd). */
export function compareUserRange(a: Uint8Array, aStart: number, aEnd: number, b: Uint8Array, bStart: number, bEnd: number): number {
  const aLen = aEnd - aStart;
  const bLen = bEnd - bStart;
  const c = compareSameLength(a, aStart, b, bStart, aLen < bLen ? aLen : bLen);
  return c !== 0 ? c : aLen - bLen;
}

/**
 * First index i >= from (i < min(aLen, bLen)) where a[as + i] and b[bs + i] differ, or -1 if
 * there is none (then one range is a prefix of the other).
 */
export function mismatch(a: Uint8Array, as: number, aLen: number, b: Uint8Array, bs: number, bLen: number, from: number): number {
  const n = aLen < bLen ? aLen : bLen;
  let i = from;
  for (; i + 4 <= n; i += 4) {
    const x = word(a, as + i) ^ word(b, bs + i);
    if (x !== 0) return i + (Math.clz32(x) >>> 3);
  }
  for (; i < n; i++) if (a[as + i] !== b[bs + i]) return i;
  return -1;
}
