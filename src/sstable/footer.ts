/**
 * The fixed-size footer at the end of every table (layout in format.ts `Footer`). The reader
 * checks, in this order: the file is long enough, the magic, the format version, the footer
 * checksum, then that every handle lies inside the file before the footer.
 */
import { ErrCorruption } from '../api/errors.js';
import { getU32, getU64, putU32, putU64 } from '../codec/bytes.js';
import { checksum } from '../codec/checksum.js';
import type { FileHandle } from '../fs/types.js';
import { readTableBytes } from './block-io.js';
import { BlockTrailer, Footer, TABLE_FORMAT_VERSION, TABLE_MAGIC } from './format.js';

export interface BlockHandle {
  offset: number;
  /** Stored contents size, without the trailer. */
  size: number;
}

export interface FooterData {
  index: BlockHandle;
  /** Size 0 when the table has no bloom filter. */
  bloom: BlockHandle;
  properties: BlockHandle;
  version: number;
}

export function encodeFooter(buf: Uint8Array, pos: number, f: FooterData): void {
  for (const h of [f.index, f.bloom, f.properties]) {
    if (h.size > 0xffff_ffff) throw new RangeError(`table metadata block of ${h.size} bytes does not fit the footer's u32 size`);
  }
  putU64(buf, pos + Footer.indexOffset, f.index.offset);
  putU32(buf, pos + Footer.indexSize, f.index.size);
  putU64(buf, pos + Footer.bloomOffset, f.bloom.offset);
  putU32(buf, pos + Footer.bloomSize, f.bloom.size);
  putU64(buf, pos + Footer.propsOffset, f.properties.offset);
  putU32(buf, pos + Footer.propsSize, f.properties.size);
  putU32(buf, pos + Footer.version, f.version);
  putU32(buf, pos + Footer.checksum, checksum(buf.subarray(pos, pos + Footer.checksum)));
  buf.set(TABLE_MAGIC, pos + Footer.magic);
}

/** Reads and checks the footer of a file of `fileSize` bytes. Throws ErrCorruption. */
export function readFooter(file: FileHandle, fileSize: number): FooterData {
  const path = file.path;
  if (fileSize < Footer.bytes) {
    throw new ErrCorruption(`file of ${fileSize} bytes is too short to be a table (footer is ${Footer.bytes})`, {
      file: path,
      offset: 0,
    });
  }
  const at = fileSize - Footer.bytes;
  const buf = new Uint8Array(Footer.bytes);
  if (readTableBytes(file, buf, at, 'footer') !== Footer.bytes) {
    throw new ErrCorruption('table footer could not be read in full', { file: path, offset: at });
  }
  for (let i = 0; i < TABLE_MAGIC.length; i++) {
    if (buf[Footer.magic + i] !== TABLE_MAGIC[i]) {
      throw new ErrCorruption('bad magic number: not a sett table, or truncated', { file: path, offset: at + Footer.magic });
    }
  }
  const version = getU32(buf, Footer.version);
  if (version !== TABLE_FORMAT_VERSION) {
    throw new ErrCorruption(
      `unknown table format version ${version} (this build reads version ${TABLE_FORMAT_VERSION}); ` +
        'the file was written by a newer sett, or its footer is damaged',
      { file: path, offset: at + Footer.version },
    );
  }
  const stored = getU32(buf, Footer.checksum);
  if (stored !== checksum(buf.subarray(0, Footer.checksum))) {
    throw new ErrCorruption('table footer checksum mismatch', { file: path, offset: at });
  }
  const f: FooterData = {
    index: { offset: getU64(buf, Footer.indexOffset), size: getU32(buf, Footer.indexSize) },
    bloom: { offset: getU64(buf, Footer.bloomOffset), size: getU32(buf, Footer.bloomSize) },
    properties: { offset: getU64(buf, Footer.propsOffset), size: getU32(buf, Footer.propsSize) },
    version,
  };
  checkHandle(path, 'index', f.index, at, false);
  checkHandle(path, 'bloom', f.bloom, at, true);
  checkHandle(path, 'properties', f.properties, at, false);
  return f;
}

function checkHandle(path: string, name: string, h: BlockHandle, limit: number, optional: boolean): void {
  if (optional && h.offset === 0 && h.size === 0) return;
  if (h.size === 0 || h.offset + h.size + BlockTrailer.bytes > limit) {
    throw new ErrCorruption(`table footer: ${name} block handle (offset ${h.offset}, size ${h.size}) is out of range`, {
      file: path,
      offset: limit,
    });
  }
}
