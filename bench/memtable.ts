/**
 * Memtable micro-benchmark: random 16-byte keys, 100-byte values (101 encoded).
 *   npx tsx bench/memtable.ts [entries=500000] [rounds=5]
 * Each round fills a fresh memtable (arena sized to hold `entries`) with `add`, another with
 * `addEntry`, then does a point get of every key (hits), of as many absent keys (misses) and a
 * full scan. Prints the best and median rate of each over the rounds, then how many entries a
 * default 64 MiB memtable holds. The load average is printed too: on a shared machine, numbers
 * taken under load are not comparable. As a yardstick taken under the same conditions, each round
 * also times a binary search of every key in a sorted, contiguous copy of the keys: the best a
 * comparison search can do without a cache-aware layout (it is memory-latency bound too).
 */
import { loadavg } from 'node:os';
import { compareBytes } from '../src/codec/bytes.js';
import { EntryKind, encodeValue } from '../src/codec/value.js';
import { Memtable } from '../src/memtable/index.js';

const KEY_BYTES = 16;
const VALUE_BYTES = 100;
const n = Number(process.argv[2] ?? 500_000);
const rounds = Number(process.argv[3] ?? 5);

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

const value = new Uint8Array(VALUE_BYTES).fill(7);
const encoded = encodeValue(EntryKind.Put, value);
const keys = randomKeys(n);
const misses = randomKeys(n);
const arenaBytes = Math.min(1 << 30, n * Memtable.entrySize(KEY_BYTES + 8, encoded.length));
const rates = new Map<string, number[]>();

function time(name: string, count: number, fn: () => void): void {
  const t = performance.now();
  fn();
  const perSecond = (count / (performance.now() - t)) * 1000;
  let list = rates.get(name);
  if (list === undefined) rates.set(name, (list = []));
  list.push(perSecond);
}

function round(): void {
  const mt = new Memtable(arenaBytes);
  time('add', n, () => {
    for (let i = 0; i < n; i++) mt.add(keys[i]!, i + 1, encoded);
  });
  const mt2 = new Memtable(arenaBytes);
  time('addEntry', n, () => {
    for (let i = 0; i < n; i++) mt2.addEntry(keys[i]!, i + 1, EntryKind.Put, value);
  });
  let found = 0;
  time('get (hit)', n, () => {
    for (let i = 0; i < n; i++) if (mt.get(keys[i]!, n + 1) !== undefined) found++;
  });
  time('get (miss)', n, () => {
    for (let i = 0; i < n; i++) if (mt.get(misses[i]!, n + 1) !== undefined) found--;
  });
  time('scan', n, () => {
    const it = mt.iterator();
    for (it.seekToFirst(); it.valid(); it.next()) found += it.value().length > 0 ? 0 : 1;
  });
  time('reference: binary search', n, () => {
    for (let i = 0; i < n; i++) if (binarySearch(keys[i]!)) found++;
  });
  if (found !== 2 * n) throw new Error(`benchmark found ${found} of ${2 * n} keys`);
}

const sortedKeys = new Uint8Array(n * KEY_BYTES);
[...keys].sort(compareBytes).forEach((k, i) => sortedKeys.set(k, i * KEY_BYTES));
function compareAt(pos: number, key: Uint8Array): number {
  for (let i = 0; i < KEY_BYTES; i++) {
    const d = sortedKeys[pos + i]! - key[i]!;
    if (d !== 0) return d;
  }
  return 0;
}
function binarySearch(key: Uint8Array): boolean {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareAt(mid * KEY_BYTES, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo < n && compareAt(lo * KEY_BYTES, key) === 0;
}

const fmt = (r: number): string => `${(r / 1e6).toFixed(2)}M/s`;
const load = (): string => loadavg().map((l) => l.toFixed(1)).join(' ');
console.log(`memtable: ${n} entries of ${KEY_BYTES}-byte random keys, ${VALUE_BYTES}-byte values; load ${load()}`);
for (let r = 0; r < rounds; r++) round();
for (const [name, list] of rates) {
  list.sort((a, b) => b - a);
  console.log(`  ${name.padEnd(25)} best ${fmt(list[0]!)}  median ${fmt(list[list.length >> 1]!)}`);
}
const full = new Memtable(64 * 2 ** 20);
let fit = 0;
while (fit < n && full.add(keys[fit]!, fit + 1, encoded)) fit++;
console.log(`  a 64 MiB memtable holds ${full.entries}${fit === n ? '+' : ''} such entries; load ${load()}`);
