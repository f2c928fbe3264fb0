/**
 * Unsigned LEB128 varints for integers in [0, 2^53). Numbers above 2^31 are handled with
 * multiplication and division instead of bit operators, so no BigInt is needed.
 */

export const VARINT_MAX_BYTES = 8; // ceil(53 / 7)

/** Bytes `putVarint` writes for `n`. */
export function varintLength(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

/** Writes `n` at `pos`; returns the position after it. The caller ensures room. */
export function putVarint(buf: Uint8Array, pos: number, n: number): number {
  while (n >= 0x80) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}

/**
 * Reads a varint at `pos` without allocating. Returns the value and stores the position after
 * it in `cursor.pos`. Returns -1 if the varint runs past `end` or is longer than 8 bytes; the
 * caller turns that into a corruption error with its own context.
 */
export function getVarint(buf: Uint8Array, cursor: { pos: number }, end: number = buf.length): number {
  let pos = cursor.pos;
  let result = 0;
  let mul = 1;
  for (let i = 0; i < VARINT_MAX_BYTES; i++) {
    if (pos >= end) return -1;
    const b = buf[pos++]!;
    result += (b & 0x7f) * mul;
    if (b < 0x80) {
      cursor.pos = pos;
      return result;
    }
    mul *= 128;
  }
  return -1;
}
