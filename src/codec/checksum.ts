/**
 * Checksums: xxHash32 (seeded) from xxhash-wasm. The WebAssembly module is instantiated by
 * `initChecksum()`, which `open()` awaits; there is no top-level await, so importing sett never
 * blocks. Calling `checksum()` before initialisation is a programming error and throws.
 */
import xxhash from 'xxhash-wasm';

type H32Raw = (input: Uint8Array, seed?: number) => number;

let h32Raw: H32Raw | undefined;
let initPromise: Promise<void> | undefined;

/** Seed of every checksum sett writes; a persisted constant, never change it. */
export const CHECKSUM_SEED = 0x5e77_0001;

export function initChecksum(): Promise<void> {
  if (h32Raw !== undefined) return Promise.resolve();
  initPromise ??= xxhash().then((api) => {
    h32Raw = api.h32Raw;
  });
  return initPromise;
}

export function checksumReady(): boolean {
  return h32Raw !== undefined;
}

/** xxHash32 of `data`. */
export function checksum(data: Uint8Array): number {
  if (h32Raw === undefined) throw new Error('sett: checksum used before initChecksum() resolved');
  return h32Raw(data, CHECKSUM_SEED) >>> 0;
}

/** xxHash32 with an explicit seed (bloom filter probes use a different seed). */
export function hash32(data: Uint8Array, seed: number): number {
  if (h32Raw === undefined) throw new Error('sett: hash32 used before initChecksum() resolved');
  return h32Raw(data, seed) >>> 0;
}
