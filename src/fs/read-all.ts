import type { FileHandle } from './types.js';

/** Reads a whole open file into a new array. */
export function readAll(file: FileHandle): Uint8Array {
  const size = file.size();
  const out = new Uint8Array(size);
  let pos = 0;
  while (pos < size) {
    const n = file.readAt(out.subarray(pos), pos);
    if (n <= 0) break;
    pos += n;
  }
  return pos === size ? out : out.subarray(0, pos);
}
