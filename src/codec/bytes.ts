/**
 * Byte-array helpers used on hot paths. Keys and values are plain `Uint8Array`s (a Node
 * `Buffer` is one); nothing here depends on Node built-ins so the browser build can use it.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const EMPTY = new Uint8Array(0);

/** Lexicographic comparison of a[aStart, aEnd) and b[bStart, bEnd). */
export function compareRange(
  a: Uint8Array,
  aStart: number,
  aEnd: number,
  b: Uint8Array,
  bStart: number,
  bEnd: number,
): number {
  const aLen = aEnd - aStart;
  const bLen = bEnd - bStart;
  const n = aLen < bLen ? aLen : bLen;
  for (let i = 0; i < n; i++) {
    const d = a[aStart + i]! - b[bStart + i]!;
    if (d !== 0) return d;
  }
  return aLen - bLen;
}

/** Lexicographic comparison of two byte arrays. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return compareRange(a, 0, a.length, b, 0, b.length);
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Length of the common prefix of a and b. */
export function sharedPrefixLength(a: Uint8Array, b: Uint8Array): number {
  const n = a.length < b.length ? a.length : b.length;
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/**
 * Makes `buf` hold src[0, len), given that its first `from` bytes already do (the prefix a
 * key shares with the previous one): copies only the rest, growing `buf` if it is too small.
 * Returns the buffer to keep. Builders and the merge keep their "previous key" this way.
 */
export function keepPrefix(buf: Uint8Array, src: Uint8Array, len: number, from = 0): Uint8Array {
  if (buf.length < len) {
    const grown = new Uint8Array(Math.max(len, buf.length * 2));
    grown.set(buf.subarray(0, from));
    buf = grown;
  }
  for (let i = from; i < len; i++) buf[i] = src[i]!;
  return buf;
}

export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

export function fromUtf8(b: Uint8Array): string {
  return decoder.decode(b);
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

/** Smallest key that is greater than every key starting with `prefix`, or undefined if none. */
export function prefixUpperBound(prefix: Uint8Array): Uint8Array | undefined {
  let end = prefix.length;
  while (end > 0 && prefix[end - 1] === 0xff) end--;
  if (end === 0) return undefined;
  const out = prefix.slice(0, end);
  out[end - 1]!++;
  return out;
}

export function toHex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += b[i]!.toString(16).padStart(2, '0');
  return s;
}

/** Little-endian fixed-width integers. */
export function putU32(buf: Uint8Array, pos: number, v: number): void {
  buf[pos] = v & 0xff;
  buf[pos + 1] = (v >>> 8) & 0xff;
  buf[pos + 2] = (v >>> 16) & 0xff;
  buf[pos + 3] = (v >>> 24) & 0xff;
}

export function getU32(buf: Uint8Array, pos: number): number {
  return (buf[pos]! | (buf[pos + 1]! << 8) | (buf[pos + 2]! << 16) | (buf[pos + 3]! << 24)) >>> 0;
}

/** Little-endian 64-bit field holding an integer below 2^53. */
export function putU64(buf: Uint8Array, pos: number, v: number): void {
  putU32(buf, pos, v >>> 0);
  putU32(buf, pos + 4, Math.floor(v / 0x1_0000_0000));
}

export function getU64(buf: Uint8Array, pos: number): number {
  return getU32(buf, pos) + getU32(buf, pos + 4) * 0x1_0000_0000;
}
