/**
 * Block trailers: writing them and reading a block back with its checksum verified.
 *
 *   block on disk = contents (`size` bytes) | type byte | xxHash32(contents ‖ type byte) u32 LE
 *   type byte     = block type << 4 | compression id
 *
 * A handle's `size` is the stored (possibly compressed) contents, without the trailer.
 */
import { ErrCorruption, ErrIO } from '../api/errors.js';
import { getU32, putU32 } from '../codec/bytes.js';
import { checksum } from '../codec/checksum.js';
import { Compression, snappyUncompress } from '../codec/compression.js';
import { snappyDecodedLength } from '../codec/snappy-decode.js';
import type { FileHandle } from '../fs/types.js';
import { BlockTrailer, BlockType } from './format.js';

/** Largest expansion of a snappy stream (a 3-byte copy op yields 64 bytes), as a sanity cap. */
const SNAPPY_EXPANSION_MAX = 22;

const typeNames: Record<number, string> = {
  [BlockType.Data]: 'data',
  [BlockType.Index]: 'index',
  [BlockType.Bloom]: 'bloom',
  [BlockType.Properties]: 'properties',
};

export function blockTypeName(type: number): string {
  return typeNames[type] ?? `unknown(${type})`;
}

/**
 * Writes the trailer of the `n` content bytes at buf[pos, pos + n); buf must have room for
 * `BlockTrailer.bytes` more. Returns the position after the trailer.
 */
export function sealBlock(buf: Uint8Array, pos: number, n: number, typeByte: number): number {
  buf[pos + n] = typeByte;
  putU32(buf, pos + n + BlockTrailer.checksum, checksum(buf.subarray(pos, pos + n + 1)));
  return pos + n + BlockTrailer.bytes;
}

/**
 * Reads the block at `offset` with stored size `size`, verifies its checksum and type, and
 * returns its uncompressed contents (an array the caller may cache: memory of its own, or a
 * buffer from `take`, which must return at least the bytes asked for). Throws ErrCorruption
 * with the file path and block offset on any damage, and ErrIO if the read itself fails.
 */
export function readBlock(file: FileHandle, offset: number, size: number, type: BlockType, take?: (bytes: number) => Uint8Array | undefined): Uint8Array {
  const want = size + BlockTrailer.bytes;
  // The stored bytes go through a reused buffer: a block-cache miss then allocates at most the
  // block it returns (none when the cache hands back an evicted block's memory). Two fresh
  // ArrayBuffers per miss made random reads churn external memory fast enough to force a full
  // GC every few hundred milliseconds on the caller's thread, each pausing it for up to ~15 ms.
  let buf: Uint8Array;
  if (want <= READ_SCRATCH_MAX) {
    if (readScratch.length < want) readScratch = new Uint8Array(Math.max(want, Math.min(READ_SCRATCH_MAX, readScratch.length * 2), 16 * 1024));
    buf = readScratch.subarray(0, want);
  } else {
    buf = new Uint8Array(want);
  }
  const n = readTableBytes(file, buf, offset, `${blockTypeName(type)} block`);
  if (n !== want) throw corrupt(file, offset, type, `block of ${size} bytes runs past the end of the file`);
  let into: Uint8Array | undefined;
  if (take !== undefined) {
    // The header is not verified yet: it only picks a buffer, which `take` bounds (a damaged
    // header asking for more gets none, and the block is verified before anything is
    // allocated for it).
    const snappy = (buf[size]! & 0x0f) === Compression.Snappy;
    const length = snappy ? snappyDecodedLength(buf, 0, size) : size;
    if (length >= 0) into = take(length);
  }
  const block = openBlock(file, buf, 0, offset, size, type, into);
  if (block.buffer !== buf.buffer || (buf.buffer !== readScratch.buffer && into === undefined)) return block;
  // Uncompressed contents are a view of the buffer read: copy them out of the shared one.
  const out = into !== undefined && into.length >= size ? into : new Uint8Array(size);
  out.set(block);
  return out.length === size ? out : out.subarray(0, size);
}

/** Largest block read through the reused buffer (bigger ones, holding huge values, get their own). */
const READ_SCRATCH_MAX = 1024 * 1024;
let readScratch = new Uint8Array(0);

/**
 * Verifies and uncompresses the block whose stored bytes and trailer lie at buf[at, at + size +
 * trailer) (read from file offset `offset`). Uncompressed contents are a view into `buf`;
 * compressed ones are decompressed into `into` if it is large enough (else a fresh array).
 */
export function openBlock(file: FileHandle, buf: Uint8Array, at: number, offset: number, size: number, type: BlockType, into?: Uint8Array): Uint8Array {
  const stored = getU32(buf, at + size + BlockTrailer.checksum);
  const actual = checksum(buf.subarray(at, at + size + 1));
  if (stored !== actual) {
    throw corrupt(file, offset, type, `checksum mismatch (stored ${stored.toString(16)}, computed ${actual.toString(16)})`);
  }
  const typeByte = buf[at + size]!;
  if (typeByte >>> 4 !== type) {
    throw corrupt(file, offset, type, `found a ${blockTypeName(typeByte >>> 4)} block in its place`);
  }
  const compression = typeByte & 0x0f;
  if (compression === Compression.None) return buf.subarray(at, at + size);
  if (compression === Compression.Snappy) {
    try {
      return snappyUncompress(buf.subarray(at, at + size), size * SNAPPY_EXPANSION_MAX + 64, into);
    } catch (e) {
      throw corrupt(file, offset, type, 'snappy stream does not decompress', e);
    }
  }
  throw corrupt(file, offset, type, `unknown compression id ${compression}`);
}

/** `file.readAt`, with a failed read (EIO) turned into ErrIO naming the file, offset and what was read. */
export function readTableBytes(file: FileHandle, buf: Uint8Array, offset: number, what: string): number {
  try {
    return file.readAt(buf, offset);
  } catch (e) {
    throw new ErrIO(`reading the table ${what} at offset ${offset} of ${file.path} failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

function corrupt(file: FileHandle, offset: number, type: BlockType, what: string, cause?: unknown): ErrCorruption {
  const where = cause === undefined ? { file: file.path, offset } : { file: file.path, offset, cause };
  return new ErrCorruption(`table ${blockTypeName(type)} block: ${what}`, where);
}
