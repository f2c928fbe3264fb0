export { Memtable, MEMTABLE_BYTES_DEFAULT, type MemtableOptions } from './memtable.js';
export { ARENA_BYTES_MAX, ARENA_BYTES_MIN } from './arena.js';
export { HEIGHT_MAX, INVARIANTS } from './skiplist.js';
