/**
 * Byte copies for the Snappy encoder and decoder, whose literals are mostly short: up to 64
 * bytes a 32-bit word at a time through DataViews (V8 inlines them), longer ones with `set`,
 * whose call overhead only pays off then.
 */

/** Copies src[from, from + len) to out[to, ...); `sv` and `ov` view the same memory as src and out. */
export function copyBytes(src: Uint8Array, sv: DataView, from: number, out: Uint8Array, ov: DataView, to: number, len: number): void {
  if (len > 64) {
    out.set(src.subarray(from, from + len), to);
    return;
  }
  let i = 0;
  for (; i + 4 <= len; i += 4) ov.setInt32(to + i, sv.getInt32(from + i, true), true);
  for (; i < len; i++) out[to + i] = src[from + i]!;
}
