/**
 * Opens a table written by TableBuilder and serves point reads and iterators, synchronously.
 *
 * `open` reads and verifies the footer, the properties, the bloom filter and the index (all kept
 * in memory for the reader's life); data blocks are read on demand through the shared
 * BlockCache, verified on every read from the file (not on cache hits: cached blocks were
 * verified when they entered). Any damage is an ErrCorruption naming the file and offset.
 *
 * A point get on a cached block is: bloom probe, binary search of the decoded index, binary
 * search of the block's restart array, then a short scan; it allocates only the returned view.
 */
import { ErrCorruption } from '../api/errors.js';
import { bytesEqual, EMPTY } from '../codec/bytes.js';
import type { InternalIterator } from '../codec/iterator.js';
import { TRAILER_BYTES, writeTrailer } from '../codec/keys.js';
import type { FileHandle } from '../fs/types.js';
import { BlockIter } from './block.js';
import { compareInternalRange, compareUserRange } from './compare.js';
import { openBlock, readBlock, readTableBytes } from './block-io.js';
import { BloomFilter, bloomHash } from './bloom.js';
import { giveScratch, takeScratch } from './scratch.js';
import type { TableMeta } from './builder.js';
import type { BlockCache } from './cache.js';
import { readFooter, type FooterData } from './footer.js';
import { BlockTrailer, BlockType } from './format.js';
import { IndexTable } from './index-block.js';
import { TableIterator, type DataBlockSource } from './iterator.js';
import { decodeProperties, type TableProperties } from './properties.js';

export class TableReader implements DataBlockSource {
  readonly meta: TableMeta;
  readonly properties: TableProperties;
  readonly path: string;
  private readonly getIter = new BlockIter();
  private seekBuf = new Uint8Array(64);
  private closed = false;

  private constructor(
    private readonly file: FileHandle,
    readonly fileNumber: number,
    private readonly cache: BlockCache,
    private readonly footer: FooterData,
    props: TableProperties,
    readonly indexTable: IndexTable,
    private readonly bloom: BloomFilter | undefined,
    fileSize: number,
  ) {
    this.path = file.path;
    this.properties = props;
    this.meta = {
      fileNumber,
      fileSize,
      smallest: props.smallest.slice(),
      largest: props.largest.slice(),
      entries: props.entries,
      minVersion: props.minVersion,
      maxVersion: props.maxVersion,
    };
  }

  /**
   * Reads and verifies footer, properties, bloom filter and index. Takes ownership of `file`:
   * `close()` closes it, and so does a failed open. Throws ErrCorruption on any damage.
   */
  static open(file: FileHandle, fileNumber: number, cache: BlockCache): TableReader {
    try {
      const fileSize = file.size();
      const footer = readFooter(file, fileSize);
      const { properties: ph, index: ih, bloom: bh } = footer;
      const props = decodeProperties(readBlock(file, ph.offset, ph.size, BlockType.Properties));
      if (typeof props === 'string') throw new ErrCorruption(`table properties block: ${props}`, { file: file.path, offset: ph.offset });
      let bloom: BloomFilter | undefined;
      if (bh.size > 0) {
        const parsed = BloomFilter.parse(readBlock(file, bh.offset, bh.size, BlockType.Bloom));
        if (typeof parsed === 'string') throw new ErrCorruption(`table bloom block: ${parsed}`, { file: file.path, offset: bh.offset });
        bloom = parsed;
      }
      // Data blocks come first; every metadata block lies after the last of them.
      const dataEnd = Math.min(ih.offset, ph.offset, bh.size > 0 ? bh.offset : Infinity);
      const index = IndexTable.decode(readBlock(file, ih.offset, ih.size, BlockType.Index), file.path, ih.offset, dataEnd);
      if (index.count !== props.dataBlocks) {
        throw new ErrCorruption(`table index has ${index.count} entries but properties say ${props.dataBlocks} data blocks`, {
          file: file.path,
          offset: ih.offset,
        });
      }
      if (!bytesEqual(index.key(index.count - 1), props.largest)) {
        throw new ErrCorruption('table index and properties disagree on the largest key', { file: file.path, offset: ih.offset });
      }
      return new TableReader(file, fileNumber, cache, footer, props, index, bloom, fileSize);
    } catch (e) {
      file.close();
      throw e;
    }
  }

  /** Whether the table may hold some version of `userKey` (always true without a filter). */
  mayContain(userKey: Uint8Array): boolean {
    return this.bloom === undefined || this.bloom.mayContain(userKey, 0, userKey.length);
  }

  /**
   * Newest entry for `userKey` with version <= readVersion, tombstones included, as its encoded
   * value (a view into an immutable cached block: never write to it). undefined if none.
   */
  get(userKey: Uint8Array, readVersion: number, hash?: number): Uint8Array | undefined {
    if (this.closed) throw new Error(`table reader ${this.path} used after close()`);
    if (this.bloom !== undefined && !this.bloom.mayContainHash(hash ?? bloomHash(userKey, 0, userKey.length))) return undefined;
    const ulen = userKey.length;
    const tlen = ulen + TRAILER_BYTES;
    if (this.seekBuf.length < tlen) this.seekBuf = new Uint8Array(tlen * 2);
    const target = this.seekBuf;
    target.set(userKey, 0);
    writeTrailer(target, ulen, readVersion);
    const i = this.indexTable.lowerBound(target, 0, tlen);
    if (i >= this.indexTable.count) return undefined;
    const it = this.getIter;
    it.reset(this.dataBlock(i), this.path, this.indexTable.offsets[i]!);
    it.seek(target, 0, tlen);
    let found: Uint8Array | undefined;
    if (it.valid() && compareUserRange(it.keyBytes(), 0, it.keyLength() - TRAILER_BYTES, userKey, 0, ulen) === 0) {
      found = it.value();
    }
    it.clear();
    return found;
  }

  iterator(): InternalIterator {
    if (this.closed) throw new Error(`table reader ${this.path} used after close()`);
    return new TableIterator(this);
  }

  /**
   * An iterator for one pass in key order (compaction): data blocks are read
   * `READAHEAD_BYTES` at a time instead of one read per block, verified as ever, kept out of
   * the block cache and decompressed into reused buffers, so its key() and value() views are
   * valid only until the iterator moves on (unlike iterator()'s values). Other positioning
   * works too, at the cost of a read per jump.
   */
  scan(): InternalIterator {
    if (this.closed) throw new Error(`table reader ${this.path} used after close()`);
    return new TableIterator(new ReadaheadSource(this.path, this.indexTable, this.file));
  }

  /**
   * Contents of data block i, from the cache or read and verified from the file. Without
   * `share`, the caller must be done with the block before its next call into this reader or
   * another of the same cache (its memory may then be reused); iterators, which keep a block
   * between calls, pass `share`.
   */
  dataBlock(i: number, share = false): Uint8Array {
    const offset = this.indexTable.offsets[i]!;
    let block = this.cache.get(this.fileNumber, offset, share);
    if (block === undefined) {
      block = readBlock(this.file, offset, this.indexTable.sizes[i]!, BlockType.Data, this.take);
      this.cache.set(this.fileNumber, offset, block, share);
    }
    return block;
  }

  private readonly take = (bytes: number): Uint8Array | undefined => this.cache.take(bytes);

  /**
   * Re-reads every block from the file (bypassing the cache) and checks checksums, structure
   * and key order. Returns the problems found; never throws for damage.
   */
  verify(): { offset: number; message: string }[] {
    const problems: { offset: number; message: string }[] = [];
    const note = (e: unknown, offset: number): void => {
      if (!(e instanceof ErrCorruption)) throw e;
      problems.push({ offset: e.offset ?? offset, message: e.message });
    };
    const file = this.file;
    const fileSize = file.size();
    try {
      const f = readFooter(file, fileSize);
      readBlock(file, f.properties.offset, f.properties.size, BlockType.Properties);
      if (f.bloom.size > 0) readBlock(file, f.bloom.offset, f.bloom.size, BlockType.Bloom);
      readBlock(file, f.index.offset, f.index.size, BlockType.Index);
    } catch (e) {
      note(e, fileSize);
    }
    const it = new BlockIter();
    let prevKey = new Uint8Array(0);
    let entries = 0;
    for (let i = 0; i < this.indexTable.count; i++) {
      const offset = this.indexTable.offsets[i]!;
      try {
        it.reset(readBlock(file, offset, this.indexTable.sizes[i]!, BlockType.Data), this.path, offset);
        for (it.seekToFirst(); it.valid(); it.next()) {
          const kb = it.keyBytes();
          const kl = it.keyLength();
          if (prevKey.length > 0 && compareInternalRange(prevKey, 0, prevKey.length, kb, 0, kl) >= 0) {
            throw new ErrCorruption('table data block: keys out of order', { file: this.path, offset });
          }
          prevKey = kb.slice(0, kl);
          entries++;
        }
        if (!bytesEqual(prevKey, this.indexTable.key(i))) {
          throw new ErrCorruption('table data block: last key differs from its index entry', { file: this.path, offset });
        }
      } catch (e) {
        note(e, offset);
      }
    }
    if (problems.length === 0 && entries !== this.properties.entries) {
      problems.push({ offset: this.footer.properties.offset, message: `table holds ${entries} entries, properties say ${this.properties.entries}` });
    }
    return problems;
  }

  /** Closes the file. Cached blocks stay until `cache.evictFile(fileNumber)`. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.file.close();
  }
}

/** Bytes a scan reads at once: a few dozen blocks, few enough to stay cheap per table. */
export const READAHEAD_BYTES = 256 * 1024;

/**
 * Data blocks for a scan, from windows of consecutive blocks read in one call. Its window and
 * decode buffers come from the thread's scratch pool (scratch.ts) and go back when the scan's
 * iterator closes, so a compaction walking dozens of tables reads them all through the same
 * few buffers (each scan used to allocate about 0.5 MiB that a worker seldom collected).
 */
class ReadaheadSource implements DataBlockSource {
  /** The window: file bytes [start, start + buf.length). */
  private buf: Uint8Array = new Uint8Array(0);
  private start = 0;
  private readonly dataEnd: number;
  private readonly decoded = [takeScratch(8192), takeScratch(8192)];
  private turn = 0;
  private readonly windows: (Uint8Array | undefined)[] = [undefined, undefined];
  private windowTurn = 0;

  constructor(
    readonly path: string,
    readonly indexTable: IndexTable,
    private readonly file: FileHandle,
  ) {
    const last = indexTable.count - 1;
    this.dataEnd = last < 0 ? 0 : indexTable.offsets[last]! + indexTable.sizes[last]! + BlockTrailer.bytes;
  }

  dataBlock(i: number): Uint8Array {
    const offset = this.indexTable.offsets[i]!;
    const size = this.indexTable.sizes[i]!;
    const end = offset + size + BlockTrailer.bytes;
    if (offset < this.start || end > this.start + this.buf.length) {
      // Two window buffers used in turn, like the decode buffers below: views of the block
      // handed out last (uncompressed blocks are views into the window) stay intact.
      const windowEnd = Math.max(end, Math.min(this.dataEnd, offset + READAHEAD_BYTES));
      this.windowTurn ^= 1;
      let buf = this.windows[this.windowTurn];
      if (buf === undefined || buf.length < windowEnd - offset) {
        // Take the new buffer before giving the old one back: if taking throws, the field
        // must not still name memory that is already in the pool.
        const old = buf;
        buf = takeScratch(Math.max(windowEnd - offset, Math.min(READAHEAD_BYTES, this.dataEnd)));
        this.windows[this.windowTurn] = buf;
        if (old !== undefined) giveScratch(old);
      }
      buf = buf.subarray(0, windowEnd - offset);
      const n = readTableBytes(this.file, buf, offset, 'data blocks');
      if (n < end - offset) throw new ErrCorruption(`table data block: block of ${size} bytes runs past the end of the file`, { file: this.path, offset });
      this.buf = n === buf.length ? buf : buf.subarray(0, n);
      this.start = offset;
    }
    // Two decode buffers used in turn: the block handed out last stays intact while the next
    // one is decoded (a scan moves on only after it is done with a block).
    this.turn ^= 1;
    const into = this.decoded[this.turn]!;
    const block = openBlock(this.file, this.buf, offset - this.start, offset, size, BlockType.Data, into);
    if (block.buffer !== into.buffer && block.length <= DECODE_BUFFER_MAX && block.length > into.length) {
      // Outgrew the buffer: keep the larger one for the next blocks.
      this.decoded[this.turn] = takeScratch(Math.max(block.length, 2 * into.length));
      giveScratch(into);
    }
    return block;
  }

  release(): void {
    for (const w of this.windows) if (w !== undefined) giveScratch(w);
    this.windows[0] = this.windows[1] = undefined;
    for (const d of this.decoded) giveScratch(d);
    this.decoded[0] = this.decoded[1] = EMPTY;
    this.buf = EMPTY;
    this.start = 0;
  }
}

/** Largest decode buffer a scan keeps (bigger blocks, holding huge values, get their own). */
const DECODE_BUFFER_MAX = 1024 * 1024;
