/**
 * Memtable micro-benchmark: random 16-byte keys, 100-byte values.
 *   npx tsx bench/memtable.ts [entries]
 * Prints inserts/s and point gets/s (hits and misses) for `entries` entries (default 500k) in an
 * arena sized to hold them, then how many fit in a default 64 MiB memtable and at what rate.
 */
import { EntryKind, encodeValue } from '../src/codec/value.js';
import { Memtable } from '../src/memtable/index.js';

const KEY_BYTES = 16;
const VALUE_BYTES = 100;
const n = Number(process.argv[2] ?? 500_000);

let state = 0x12345678;
function rand(): number {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return state >>> 0;
}
function randomKeys(count: number): Uint8Array[] {
  const all = new Uint8Array(count * KEY_BYTES);
  for (let i = 0; i < all.length; i++) all[i] = rand() & 0xff;
  const keys: Uint8Array[] = [];
  for (let i = 0; i < count; i++) keys.push(all.subarray(i * KEY_BYTES, (i + 1) * KEY_BYTES));
  return keys;
}
function rate(count: number, ms: number): string {
  return `${((count / ms) * 1000 / 1e6).toFixed(2)}M/s`;
}

const value = new Uint8Array(VALUE_BYTES).fill(7);
const encoded = encodeValue(EntryKind.Put, value);
const keys = randomKeys(n);
const misses = randomKeys(n);
const arenaBytes = Math.min(1 << 30, Math.ceil(n * (Memtable.entrySize(KEY_BYTES + 8, encoded.length) + 8)));

function run(round: number): void {
  const mt = new Memtable(arenaBytes);
  let t = performance.now();
  for (let i = 0; i < n; i++) mt.add(keys[i]!, i + 1, encoded);
  const insMs = performance.now() - t;

  const mt2 = new Memtable(arenaBytes);
  t = performance.now();
  for (let i = 0; i < n; i++) mt2.addEntry(keys[i]!, i + 1, EntryKind.Put, value);
  const entMs = performance.now() - t;

  let found = 0;
  t = performance.now();
  for (let i = 0; i < n; i++) if (mt.get(keys[i]!, n + 1) !== undefined) found++;
  const getMs = performance.now() - t;
  t = performance.now();
  for (let i = 0; i < n; i++) if (mt.get(misses[i]!, n + 1) !== undefined) found++;
  const missMs = performance.now() - t;

  let scanned = 0;
  t = performance.now();
  const it = mt.iterator();
  for (it.seekToFirst(); it.valid(); it.next()) scanned += it.value().length > 0 ? 1 : 0;
  const scanMs = performance.now() - t;

  console.log(
    `round ${round}: ${n} entries, arena ${(mt.usedBytes / 2 ** 20).toFixed(1)} MiB used` +
      ` | add ${rate(n, insMs)} | addEntry ${rate(n, entMs)} | get hit ${rate(n, getMs)}` +
      ` | get miss ${rate(n, missMs)} | scan ${rate(scanned, scanMs)} (found ${found})`,
  );
}

function fill64(): void {
  const mt = new Memtable(64 * 2 ** 20);
  const t = performance.now();
  let i = 0;
  while (i < n && mt.add(keys[i]!, i + 1, encoded)) i++;
  const ms = performance.now() - t;
  console.log(`64 MiB arena: ${mt.entries} entries fit (${i === n ? 'not full' : 'full'}), add ${rate(i, ms)}`);
}

for (let round = 1; round <= 3; round++) run(round);
fill64();
