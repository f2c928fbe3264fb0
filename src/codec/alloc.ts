/**
 * Copies handed to callers (keys and values from get and iterators). A new Uint8Array with its
 * own backing store costs about a microsecond in V8; a view into a shared slab costs a tenth of
 * that. So small copies are carved out of 16 KiB slabs (as Node's Buffer.allocUnsafe pools small
 * buffers): each returned array is a distinct, never-reused range, but `.buffer` is the slab.
 * Copies above SLAB_COPY_MAX get their own buffer, so a retained small value pins at most one slab.
 */
const SLAB_BYTES = 16 * 1024;
const SLAB_COPY_MAX = 1024;

let slab = new Uint8Array(SLAB_BYTES);
let slabPos = 0;

/** A copy of src[start, end) that the caller owns. */
export function copyOut(src: Uint8Array, start: number, end: number): Uint8Array {
  const n = end - start;
  if (n > SLAB_COPY_MAX) return src.slice(start, end);
  if (slabPos + n > SLAB_BYTES) {
    slab = new Uint8Array(SLAB_BYTES);
    slabPos = 0;
  }
  const out = slab.subarray(slabPos, slabPos + n);
  // Align the next copy to 8 bytes so views stay friendly to DataView/Float64 readers.
  slabPos = (slabPos + n + 7) & ~7;
  out.set(src.subarray(start, end));
  return out;
}
