/**
 * Scratch memory that table builders hand back when a table is finished, so the next table on
 * the same thread writes through the same buffers instead of fresh ones.
 *
 * Why: a background thread (flush or compaction worker) writes table after table and allocates
 * little on the JavaScript heap, so V8 seldom runs a full collection there. Every buffer a
 * builder dropped (its 64 KiB write buffer, the bloom filter's key hashes, which grow by
 * doubling to 4 bytes per key, and the filter itself) then stayed resident until one did:
 * measured on a 5 M-key random fill, the flush worker held 10 MB more dead ArrayBuffer memory
 * per million keys written, and the process's RSS grew by that much.
 *
 * Module state is per thread (each worker loads its own copy). A pooled buffer is owned by at
 * most one builder at a time: `takeScratch` removes it from the pool and `giveScratch` returns
 * it, and a builder that fails midway simply drops its buffers (the pool never hands out memory
 * that is still in use). The pool keeps at most SCRATCH_BUFFERS_MAX buffers and
 * SCRATCH_BYTES_MAX bytes, so a thread that once wrote a huge table does not keep its buffers
 * for good.
 */
const SCRATCH_BUFFERS_MAX = 16;
const SCRATCH_BYTES_MAX = 16 * 1024 * 1024;

/** A pooled buffer serves a request of at least a quarter its size (or up to this much), so a small need does not take (and then keep) a huge buffer. */
const SCRATCH_OVERSIZE_MIN = 64 * 1024;

const pool: Uint8Array[] = [];
let pooledBytes = 0;
let poison = false;

/**
 * Tests: fill buffers as they are given back and again as they are taken out, so that any use of
 * memory after it was handed back, and any read of a taken buffer before it was written, shows
 * as wrong bytes (and fails a checksum or a comparison) instead of passing by luck.
 */
export function setScratchPoison(on: boolean): void {
  poison = on;
}

/**
 * A buffer of at least `minBytes` (its contents are whatever the last user left): the smallest
 * pooled one that is large enough and not far larger, else a new one of exactly `minBytes`.
 */
export function takeScratch(minBytes: number): Uint8Array {
  const largest = Math.max(minBytes * 4, SCRATCH_OVERSIZE_MIN);
  let best = -1;
  for (let i = 0; i < pool.length; i++) {
    const n = pool[i]!.length;
    if (n >= minBytes && n <= largest && (best < 0 || n < pool[best]!.length)) best = i;
  }
  if (best < 0) {
    const fresh = new Uint8Array(minBytes);
    if (poison) fresh.fill(0xa5);
    return fresh;
  }
  const buf = pool[best]!;
  pool[best] = pool[pool.length - 1]!;
  pool.pop();
  pooledBytes -= buf.length;
  if (poison) buf.fill(0x5a);
  return buf;
}

/**
 * Returns a buffer taken with `takeScratch` (or one the caller allocated and no longer uses).
 * When the pool is full, the smallest buffers go first, so the pool keeps the sizes that are
 * hardest to come by.
 */
export function giveScratch(buf: Uint8Array): void {
  if (buf.length === 0 || buf.byteOffset !== 0 || buf.length !== buf.buffer.byteLength || buf.length > SCRATCH_BYTES_MAX) return;
  for (const b of pool) if (b.buffer === buf.buffer) return;
  if (poison) buf.fill(0xee);
  pool.push(buf);
  pooledBytes += buf.length;
  while (pool.length > SCRATCH_BUFFERS_MAX || pooledBytes > SCRATCH_BYTES_MAX) {
    let smallest = 0;
    for (let i = 1; i < pool.length; i++) if (pool[i]!.length < pool[smallest]!.length) smallest = i;
    pooledBytes -= pool[smallest]!.length;
    pool[smallest] = pool[pool.length - 1]!;
    pool.pop();
  }
}

/** Empties this thread's pool (tests). */
export function dropScratch(): void {
  pool.length = 0;
  pooledBytes = 0;
}

/** Buffers and bytes held by this thread's pool (tests). */
export function scratchPooled(): { buffers: number; bytes: number } {
  return { buffers: pool.length, bytes: pooledBytes };
}
