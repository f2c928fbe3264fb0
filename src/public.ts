/** Everything both entry points export (the platform-neutral public API). */
export { DB, type ReadOptions, type IteratorOptions, type AllVersionsOptions, type BatchOp } from './api/db.js';
export { Batch } from './api/batch.js';
export { Txn, TXN_MEMTABLE_SHARE, type TxnOptions, type TxnPutOptions, type TxnCommitOptions } from './txn/txn.js';
export type { UpdateOptions, ViewOptions } from './api/db.js';
export { Sequence } from './txn/sequence.js';
export { VersionIterator, type VersionEntry, type VersionsOptions } from './txn/versions.js';
export { Subscription, type Change, type SubscribeOptions } from './txn/subscribe.js';
export { DBIterator } from './api/iterator.js';
export { Snapshot } from './api/snapshot.js';
export type { DBStats, LevelStats } from './api/stats.js';
export type { KVStore, KVBatch, KVIterator, Entry, RangeOptions, WriteOptions } from './api/kvstore.js';
export { type Options, type Config, DEFAULTS } from './api/options.js';
export * from './api/errors.js';
export { MemoryStore } from './store/memory-store.js';
export { MemoryFileSystem, FaultFileSystem } from './fs/index.js';
export type { FileSystem, FileHandle } from './fs/types.js';
export { FsError } from './fs/types.js';
export { utf8, fromUtf8 } from './codec/bytes.js';
