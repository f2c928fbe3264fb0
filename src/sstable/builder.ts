/**
 * Writes one immutable table (layout in docs/table-format.md):
 *
 *   data block* | bloom block? | properties block | index block | footer
 *
 * Each block is followed by its trailer (block-io.ts). Entries arrive in strictly increasing
 * internal-key order (checked on every add, O(1)); a data block is cut once its estimated size
 * reaches `blockSize`. Writes go through a buffer of `WRITE_BUFFER_BYTES` so a table costs few
 * `writeAt` calls. The builder writes from offset 0 of an empty file; it neither syncs nor
 * closes the file.
 */
import { keepPrefix } from '../codec/bytes.js';
import { Compression, snappyCompress } from '../codec/compression.js';
import { readTrailer, TRAILER_BYTES, VERSION_MAX } from '../codec/keys.js';
import { type DecodedValue, decodeValueHeader, EntryKind, MetaFlag } from '../codec/value.js';
import type { FileHandle } from '../fs/types.js';
import { BlockBuilder } from './block-builder.js';
import { mismatch } from './compare.js';
import { sealBlock } from './block-io.js';
import { BloomBuilder } from './bloom.js';
import { encodeFooter, type BlockHandle } from './footer.js';
import { BlockTrailer, BlockType, Footer, TABLE_FORMAT_VERSION, trailerTypeByte } from './format.js';
import { encodeHandle, HANDLE_BYTES_MAX } from './index-block.js';
import { encodeProperties } from './properties.js';
import { giveScratch, takeScratch } from './scratch.js';

export interface TableOptions {
  /** Target uncompressed data block size in bytes (default 4096). */
  blockSize: number;
  /** Keys between restart points in data blocks (default 16). */
  restartInterval: number;
  /** Bloom filter false-positive rate (default 0.01); 0 writes no filter. */
  bloomFalsePositiveRate: number;
  /** Block compression; a block is stored compressed only if that saves at least 12.5%. */
  compression: Compression;
}

export const DEFAULT_TABLE_OPTIONS: Readonly<TableOptions> = Object.freeze({
  blockSize: 4096,
  restartInterval: 16,
  bloomFalsePositiveRate: 0.01,
  compression: Compression.None,
});

export interface TableMeta {
  fileNumber: number;
  fileSize: number;
  /** Smallest internal key (a copy). */
  smallest: Uint8Array;
  /** Largest internal key (a copy). */
  largest: Uint8Array;
  entries: number;
  minVersion: number;
  maxVersion: number;
}

/** Restart interval of index blocks: their keys are decoded once at open, so prefix-compress. */
const INDEX_RESTART_INTERVAL = 16;
const WRITE_BUFFER_BYTES = 64 * 1024;

export function checkTableOptions(o: TableOptions): void {
  if (!Number.isSafeInteger(o.blockSize) || o.blockSize < 1) {
    throw new RangeError(`blockSize must be a positive integer of bytes, got ${o.blockSize}`);
  }
  if (!Number.isSafeInteger(o.restartInterval) || o.restartInterval < 1) {
    throw new RangeError(`restartInterval must be an integer >= 1, got ${o.restartInterval}`);
  }
  const p = o.bloomFalsePositiveRate;
  if (typeof p !== 'number' || !(p >= 0 && p < 1)) {
    throw new RangeError(`bloomFalsePositiveRate must be in [0, 1) (0 disables the filter), got ${p}`);
  }
  if (o.compression !== Compression.None && o.compression !== Compression.Snappy) {
    throw new RangeError(`unknown compression ${String(o.compression)}`);
  }
}

export class TableBuilder {
  private readonly options: Readonly<TableOptions>;
  private readonly dataBlock: BlockBuilder;
  private readonly indexBlock = new BlockBuilder(INDEX_RESTART_INTERVAL, 1024);
  private readonly bloom: BloomBuilder | undefined;
  /** From the thread's scratch pool (scratch.ts), handed back by `finish`. */
  private wbuf = takeScratch(WRITE_BUFFER_BYTES);
  private wpos = 0;
  /** File offset of wbuf[0]. */
  private flushed = 0;
  private lastKey: Uint8Array = new Uint8Array(64);
  private lastKeyLen = 0;
  private smallest: Uint8Array | undefined;
  private count = 0;
  private tombstones = 0;
  private rawKeyBytes = 0;
  private rawValueBytes = 0;
  private minVersion = VERSION_MAX;
  private maxVersion = 0;
  private dataBlocks = 0;
  private minExpiresAt = 0;
  private maxExpiresAt = 0;
  private expiringEntries = 0;
  private readonly valueHeader: DecodedValue = { kind: EntryKind.Put, expiresAt: 0, userMeta: 0, valueStart: 0 };
  private finished = false;
  private readonly handleBuf = new Uint8Array(HANDLE_BYTES_MAX);
  private readonly handle: BlockHandle = { offset: 0, size: 0 };

  constructor(
    private readonly file: FileHandle,
    readonly fileNumber: number,
    options: TableOptions,
  ) {
    checkTableOptions(options);
    this.options = Object.freeze({ ...options });
    this.dataBlock = new BlockBuilder(options.restartInterval, options.blockSize + 512);
    this.bloom = options.bloomFalsePositiveRate > 0 ? new BloomBuilder(options.bloomFalsePositiveRate) : undefined;
  }

  get entries(): number {
    return this.count;
  }

  /** Bytes written so far plus the pending block. */
  estimatedSize(): number {
    return this.flushed + this.wpos + (this.dataBlock.empty() ? 0 : this.dataBlock.estimatedSize());
  }

  /** Adds an entry; internal keys must be strictly increasing by compareInternal. */
  add(internalKey: Uint8Array, encodedValue: Uint8Array): void {
    if (this.finished) throw new Error('TableBuilder.add after finish');
    const len = internalKey.length;
    if (len < TRAILER_BYTES) throw new RangeError(`internal key of ${len} bytes is shorter than its trailer`);
    const userLen = len - TRAILER_BYTES;
    // One pass over the bytes the key shares with the previous one decides the order check,
    // whether the user key is new (bloom) and the data block's shared prefix.
    let common = 0;
    if (this.count > 0) {
      const last = this.lastKey;
      const lastLen = this.lastKeyLen;
      const lastUser = lastLen - TRAILER_BYTES;
      const m = mismatch(internalKey, 0, userLen, last, 0, lastUser, 0);
      let newUser: boolean;
      let ordered: boolean;
      if (m >= 0) {
        common = m;
        newUser = true;
        ordered = internalKey[m]! > last[m]!;
      } else if (userLen !== lastUser) {
        common = userLen < lastUser ? userLen : lastUser;
        newUser = true;
        ordered = userLen > lastUser;
      } else {
        // Same user key: the trailers decide (and may share leading bytes too).
        const t = mismatch(internalKey, 0, len, last, 0, lastLen, userLen);
        common = t < 0 ? len : t;
        newUser = false;
        ordered = t >= 0 && internalKey[t]! > last[t]!;
      }
      if (!ordered) throw new Error(`TableBuilder.add: keys must be strictly increasing (entry ${this.count} is out of order)`);
      if (newUser) this.bloom?.add(internalKey, 0, userLen);
    } else {
      this.smallest = internalKey.slice();
      this.bloom?.add(internalKey, 0, userLen);
    }
    const version = readTrailer(internalKey, userLen);
    if (version < this.minVersion) this.minVersion = version;
    if (version > this.maxVersion) this.maxVersion = version;
    if (encodedValue.length > 0) {
      const meta = encodedValue[0]!;
      if ((meta & MetaFlag.KindMask) === EntryKind.Delete) this.tombstones++;
      else if ((meta & MetaFlag.Expires) !== 0) {
        // Expiry range and count, so a compaction can tell the table holds entries to drop
        // (and estimate how many: compaction/expiry.ts).
        const h = decodeValueHeader(encodedValue, this.valueHeader);
        if (h !== undefined && h.expiresAt > 0) {
          if (this.minExpiresAt === 0 || h.expiresAt < this.minExpiresAt) this.minExpiresAt = h.expiresAt;
          if (h.expiresAt > this.maxExpiresAt) this.maxExpiresAt = h.expiresAt;
          this.expiringEntries++;
        }
      }
    }
    this.rawKeyBytes += len;
    this.rawValueBytes += encodedValue.length;
    this.count++;

    this.lastKey = keepPrefix(this.lastKey, internalKey, len, common);
    this.lastKeyLen = len;

    this.dataBlock.add(internalKey, encodedValue, common);
    if (this.dataBlock.estimatedSize() >= this.options.blockSize) this.flushDataBlock();
  }

  /** Writes the last data block, bloom, properties, index and footer. Does not sync or close. */
  finish(): TableMeta {
    if (this.finished) throw new Error('TableBuilder.finish called twice');
    if (this.count === 0) throw new Error('TableBuilder.finish: no entries were added');
    this.finished = true;
    if (!this.dataBlock.empty()) this.flushDataBlock();

    let bloom: BlockHandle = { offset: 0, size: 0 };
    if (this.bloom !== undefined) {
      this.writeBlock(this.bloom.finish(), BlockType.Bloom);
      this.bloom.release();
      bloom = { ...this.handle };
    }
    const largest = this.lastKey.slice(0, this.lastKeyLen);
    const smallest = this.smallest!;
    const props = encodeProperties({
      entries: this.count,
      minVersion: this.minVersion,
      maxVersion: this.maxVersion,
      smallest,
      largest,
      dataBlocks: this.dataBlocks,
      tombstones: this.tombstones,
      rawKeyBytes: this.rawKeyBytes,
      rawValueBytes: this.rawValueBytes,
      minExpiresAt: this.minExpiresAt,
      maxExpiresAt: this.maxExpiresAt,
      expiringEntries: this.expiringEntries,
    });
    this.writeBlock(props, BlockType.Properties);
    const properties = { ...this.handle };
    this.writeBlock(this.indexBlock.finish(), BlockType.Index);
    const index = { ...this.handle };

    this.reserve(Footer.bytes);
    encodeFooter(this.wbuf, this.wpos, { index, bloom, properties, version: TABLE_FORMAT_VERSION });
    this.wpos += Footer.bytes;
    this.flushWrites();
    giveScratch(this.wbuf);
    this.wbuf = new Uint8Array(0);

    return {
      fileNumber: this.fileNumber,
      fileSize: this.flushed,
      smallest: smallest.slice(),
      largest,
      entries: this.count,
      minVersion: this.minVersion,
      maxVersion: this.maxVersion,
    };
  }

  private flushDataBlock(): void {
    this.writeBlock(this.dataBlock.finish(), BlockType.Data);
    this.dataBlock.reset();
    this.dataBlocks++;
    const h = encodeHandle(this.handleBuf, this.handle.offset, this.handle.size);
    this.indexBlock.add(this.lastKey.subarray(0, this.lastKeyLen), h);
  }

  /** Appends a block and its trailer to the write buffer; sets `this.handle`. */
  private writeBlock(contents: Uint8Array, type: BlockType): void {
    let payload = contents;
    let compression: Compression = Compression.None;
    if (this.options.compression === Compression.Snappy) {
      const c = snappyCompress(contents);
      // Keep the compressed form only if it saves at least 12.5%.
      if (c.length <= contents.length - contents.length / 8) {
        payload = c;
        compression = Compression.Snappy;
      }
    }
    const n = payload.length;
    this.reserve(n + BlockTrailer.bytes);
    this.handle.offset = this.flushed + this.wpos;
    this.handle.size = n;
    this.wbuf.set(payload, this.wpos);
    this.wpos = sealBlock(this.wbuf, this.wpos, n, trailerTypeByte(type, compression));
    if (this.wpos >= WRITE_BUFFER_BYTES) this.flushWrites();
  }

  /** Makes room for `n` more bytes in the write buffer. */
  private reserve(n: number): void {
    if (this.wpos + n <= this.wbuf.length) return;
    this.flushWrites();
    if (n > this.wbuf.length) this.wbuf = new Uint8Array(n);
  }

  private flushWrites(): void {
    if (this.wpos === 0) return;
    this.file.writeAt(this.wbuf.subarray(0, this.wpos), this.flushed);
    this.flushed += this.wpos;
    this.wpos = 0;
  }
}
