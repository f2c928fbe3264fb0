/** Immutable sorted tables: builder, reader, bloom filter, block cache (docs/table-format.md). */
export { TableBuilder, DEFAULT_TABLE_OPTIONS, checkTableOptions, type TableOptions, type TableMeta } from './builder.js';
export { TableReader } from './reader.js';
export { TableIterator } from './iterator.js';
export { BlockCache, BLOCK_CACHE_ENTRY_OVERHEAD_BYTES } from './cache.js';
export { BloomBuilder, BloomFilter, bloomBitsPerKey, bloomProbes, bloomHash } from './bloom.js';
export type { TableProperties } from './properties.js';
export { TABLE_FORMAT_VERSION, TABLE_MAGIC, BlockType, Footer } from './format.js';
