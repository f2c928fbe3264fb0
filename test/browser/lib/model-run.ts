/**
 * The model test, compact enough to run inside Chromium: a seeded random sequence of operations
 * runs against the store and against a plain sorted map (plus a frozen copy per open snapshot),
 * compared at every read. The same sequence runs on a local DB in a worker (OPFS) and on the
 * page's RemoteDB proxy (worker host over a MessagePort).
 *
 * Operations: put, delete, batches (array and chained forms, mixed puts and deletes, repeated
 * keys), writes issued together without waiting (group commit), get / has / getMany, iterators
 * with random gt/gte/lt/lte/prefix bounds in both directions with limits and keysOnly, drained
 * by next(), all(), or for-await with an early break, an iterator read across a write (its view
 * is fixed at creation), snapshots read later and released, flush, sync, close-and-reopen.
 *
 * Keys come from the bytes 0x00 'a' 'b' 'c' 0xff, one to three long, plus two keys longer than a
 * 64-byte block, so keys collide, some are prefixes of others, and bounds fall on, between and
 * outside stored keys (including the 0xff edge where a prefix has no upper bound).
 *
 * A failure names the seed, the step and the last operations; rerun with SETT_SEED=<seed>.
 */
import { mulberry32 } from '../../../src/fs/prng.js';

type Bytes = Uint8Array;
type Entry = [Bytes, Bytes];

export interface ModelIterator {
  next(): Promise<Entry | undefined>;
  all(): Promise<Entry[]>;
  close(): Promise<void>;
  [Symbol.asyncIterator](): AsyncIterator<Entry>;
}

export interface ModelSnapshot {
  release(): void;
}

/** What the model test needs of a store: DB and RemoteDB both fit. */
export interface ModelStore {
  put(k: Bytes, v: Bytes, o?: { sync?: boolean }): Promise<void>;
  delete(k: Bytes, o?: { sync?: boolean }): Promise<void>;
  batch(ops: ({ type: 'put'; key: Bytes; value: Bytes } | { type: 'del'; key: Bytes })[], o?: { sync?: boolean }): Promise<void>;
  batch(): { put(k: Bytes, v: Bytes): unknown; delete(k: Bytes): unknown; write(o?: { sync?: boolean }): Promise<void> };
  get(k: Bytes, o?: { snapshot?: never }): Promise<Bytes | undefined>;
  has(k: Bytes): Promise<boolean>;
  getMany(ks: Bytes[]): Promise<(Bytes | undefined)[]>;
  iterator(o?: Record<string, unknown>): ModelIterator;
  snapshot(): ModelSnapshot;
  flush(): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
  verify(): Promise<{ ok: boolean; problems: unknown[] }>;
}

export const MODEL_OPTIONS = {
  memtableSize: 4096,
  blockSize: 64,
  blockRestartInterval: 2,
  blockCacheSize: 2048,
  maxImmutableMemtables: 2,
  valueBytesMax: 512,
  manifestRewriteBytes: 2048,
} as const;

const hex = (b: Bytes): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const fromHex = (h: string): Bytes => Uint8Array.from(h.match(/../g) ?? [], (x) => parseInt(x, 16));

function cmp(a: Bytes, b: Bytes): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function show(b: Bytes | undefined): string {
  if (b === undefined) return 'undefined';
  return /^[\x20-\x7e]*$/.test(String.fromCharCode(...b.subarray(0, 40))) && b.length <= 40 ? JSON.stringify(String.fromCharCode(...b)) : `0x${hex(b.subarray(0, 24))}${b.length > 24 ? `…(${b.length})` : ''}`;
}

interface Range {
  gt?: Bytes;
  gte?: Bytes;
  lt?: Bytes;
  lte?: Bytes;
  prefix?: Bytes;
  reverse?: boolean;
  limit?: number;
  keysOnly?: boolean;
}

function showRange(r: Range): string {
  return Object.entries(r)
    .map(([k, v]) => `${k}=${v instanceof Uint8Array ? show(v) : String(v)}`)
    .join(' ');
}

class Model {
  constructor(readonly map = new Map<string, Bytes>()) {}
  clone(): Model {
    return new Model(new Map(this.map));
  }
  range(r: Range): Entry[] {
    let out: Entry[] = [...this.map.keys()]
      .sort()
      .map((h): Entry => [fromHex(h), this.map.get(h)!])
      .filter(([k]) => {
        if (r.gt !== undefined && cmp(k, r.gt) <= 0) return false;
        if (r.gte !== undefined && cmp(k, r.gte) < 0) return false;
        if (r.lt !== undefined && cmp(k, r.lt) >= 0) return false;
        if (r.lte !== undefined && cmp(k, r.lte) > 0) return false;
        if (r.prefix !== undefined && (k.length < r.prefix.length || cmp(k.subarray(0, r.prefix.length), r.prefix) !== 0)) return false;
        return true;
      });
    if (r.reverse === true) out.reverse();
    if (r.limit !== undefined) out = out.slice(0, r.limit);
    if (r.keysOnly === true) out = out.map(([k]): Entry => [k, new Uint8Array(0)]);
    return out;
  }
}

function sameEntries(actual: Entry[], expected: Entry[], what: string): void {
  const n = Math.max(actual.length, expected.length);
  for (let i = 0; i < n; i++) {
    const a = actual[i];
    const e = expected[i];
    if (a === undefined || e === undefined || cmp(a[0], e[0]) !== 0 || cmp(a[1], e[1]) !== 0) {
      throw new Error(`${what}: entry ${i} differs: got ${a === undefined ? 'end' : `${show(a[0])}=${show(a[1])}`}, expected ${e === undefined ? 'end' : `${show(e[0])}=${show(e[1])}`} (${actual.length} vs ${expected.length} entries)`);
    }
  }
}

export interface ModelRunOptions {
  seed: number;
  steps: number;
  /** Opens (or reopens) the store. */
  open(): Promise<ModelStore>;
  /** Called between steps (e.g. to yield); optional. */
  label: string;
}

/** Runs one seeded sequence; throws a descriptive Error on the first difference. */
export async function runModel(o: ModelRunOptions): Promise<{ steps: number; reopens: number; flushes: number }> {
  const rnd = mulberry32(o.seed);
  const int = (n: number): number => rnd() % n;
  const chance = (p: number): boolean => rnd() / 2 ** 32 < p;
  const alphabet = [0x00, 0x61, 0x62, 0x63, 0xff];
  const longA = new Uint8Array(100).fill(0x61);
  const longB = new Uint8Array(90).fill(0x62);
  const key = (): Bytes => {
    if (chance(0.04)) return chance(0.5) ? longA : longB;
    const n = 1 + int(3);
    return Uint8Array.from({ length: n }, () => alphabet[int(alphabet.length)]!);
  };
  const bound = (): Bytes => (chance(0.1) ? new Uint8Array(0) : key());
  let counter = 0;
  const value = (): Bytes => {
    const n = chance(0.1) ? 0 : chance(0.1) ? 100 + int(300) : 1 + int(24);
    const v = new Uint8Array(n);
    for (let i = 0; i < n; i++) v[i] = 0x20 + ((counter * 7 + i) % 90);
    counter++;
    return v;
  };
  const range = (): Range => {
    const r: Range = {};
    if (chance(0.4)) r[chance(0.5) ? 'gt' : 'gte'] = bound();
    if (chance(0.4)) r[chance(0.5) ? 'lt' : 'lte'] = bound();
    if (chance(0.25)) r.prefix = Uint8Array.from({ length: int(3) }, () => alphabet[int(alphabet.length)]!);
    if (chance(0.4)) r.reverse = true;
    if (chance(0.25)) r.limit = int(6);
    if (chance(0.15)) r.keysOnly = true;
    return r;
  };

  let db = await o.open();
  let model = new Model();
  let snaps: { snap: ModelSnapshot; model: Model }[] = [];
  const log: string[] = [];
  let reopens = 0;
  let flushes = 0;

  const drain = async (it: ModelIterator, how: number, limitSeen?: number): Promise<Entry[]> => {
    if (how === 0) return it.all();
    const out: Entry[] = [];
    if (how === 1) {
      for (let e = await it.next(); e !== undefined; e = await it.next()) out.push(e);
      return out;
    }
    for await (const e of it) {
      out.push(e);
      if (limitSeen !== undefined && out.length >= limitSeen) break;
    }
    return out;
  };

  for (let step = 0; step < o.steps; step++) {
    const roll = int(100);
    let desc = '';
    try {
      if (roll < 24) {
        const k = key();
        const v = value();
        desc = `put ${show(k)}=${show(v)}`;
        await db.put(k, v, chance(0.1) ? { sync: true } : undefined);
        model.map.set(hex(k), v);
      } else if (roll < 32) {
        const k = key();
        desc = `delete ${show(k)}`;
        await db.delete(k);
        model.map.delete(hex(k));
      } else if (roll < 40) {
        const n = 1 + int(8);
        const ops: ({ type: 'put'; key: Bytes; value: Bytes } | { type: 'del'; key: Bytes })[] = [];
        for (let i = 0; i < n; i++) ops.push(chance(0.7) ? { type: 'put', key: key(), value: value() } : { type: 'del', key: key() });
        if (ops.length > 1 && chance(0.3)) ops.push({ ...ops[0]! }); // a repeated key: the later op wins
        const chained = chance(0.5);
        desc = `batch(${chained ? 'chained' : 'array'}) ${ops.map((x) => (x.type === 'put' ? `+${show(x.key)}` : `-${show(x.key)}`)).join(' ')}`;
        if (chained) {
          const b = db.batch();
          for (const x of ops) {
            if (x.type === 'put') b.put(x.key, x.value);
            else b.delete(x.key);
          }
          await b.write();
        } else {
          await db.batch(ops);
        }
        for (const x of ops) {
          if (x.type === 'put') model.map.set(hex(x.key), x.value);
          else model.map.delete(hex(x.key));
        }
      } else if (roll < 44) {
        const n = 2 + int(6);
        const writes: [Bytes, Bytes][] = Array.from({ length: n }, () => [key(), value()]);
        desc = `concurrent puts ${writes.map(([k]) => show(k)).join(' ')}`;
        await Promise.all(writes.map(([k, v], i) => db.put(k, v, i === 0 && chance(0.5) ? { sync: true } : undefined)));
        for (const [k, v] of writes) model.map.set(hex(k), v);
      } else if (roll < 56) {
        const k = key();
        desc = `get ${show(k)}`;
        const got = await db.get(k);
        const want = model.map.get(hex(k));
        if ((got === undefined) !== (want === undefined) || (got !== undefined && cmp(got, want!) !== 0)) throw new Error(`got ${show(got)}, expected ${show(want)}`);
      } else if (roll < 59) {
        const k = key();
        desc = `has ${show(k)}`;
        const got = await db.has(k);
        if (got !== model.map.has(hex(k))) throw new Error(`got ${got}, expected ${!got}`);
      } else if (roll < 62) {
        const ks = Array.from({ length: 1 + int(5) }, key);
        desc = `getMany ${ks.map(show).join(' ')}`;
        const got = await db.getMany(ks);
        ks.forEach((k, i) => {
          const want = model.map.get(hex(k));
          const g = got[i];
          if ((g === undefined) !== (want === undefined) || (g !== undefined && cmp(g, want!) !== 0)) throw new Error(`key ${i}: got ${show(g)}, expected ${show(want)}`);
        });
      } else if (roll < 77) {
        const r = range();
        const how = int(3);
        const stopAt = how === 2 && chance(0.3) ? 1 + int(3) : undefined;
        desc = `iterate ${showRange(r)} via ${['all()', 'next()', 'for await'][how]}${stopAt === undefined ? '' : ` break after ${stopAt}`}`;
        const got = await drain(db.iterator({ ...r }), how, stopAt);
        let want = model.range(r);
        if (stopAt !== undefined) want = want.slice(0, stopAt);
        sameEntries(got, want, 'iterator');
      } else if (roll < 80) {
        const r = range();
        delete r.limit;
        desc = `iterate ${showRange(r)} across a write`;
        const want = model.range(r);
        const it = db.iterator({ ...r });
        const first: Entry[] = [];
        for (let i = 0; i < 2; i++) {
          const e = await it.next();
          if (e === undefined) break; // the iterator closed itself at the end
          first.push(e);
        }
        const k = key();
        const v = value();
        await db.put(k, v);
        model.map.set(hex(k), v);
        if (chance(0.3)) {
          await db.flush();
          flushes++;
        }
        const rest = first.length < 2 ? [] : await it.all();
        if (first.length === 2) await it.close();
        sameEntries([...first, ...rest], want, 'iterator read across a write');
      } else if (roll < 84) {
        if (snaps.length >= 4) {
          const s = snaps.splice(int(snaps.length), 1)[0]!;
          desc = 'release a snapshot';
          s.snap.release();
        } else {
          desc = 'take a snapshot';
          snaps.push({ snap: db.snapshot(), model: model.clone() });
        }
      } else if (roll < 90 && snaps.length > 0) {
        const s = snaps[int(snaps.length)]!;
        if (chance(0.5)) {
          const k = key();
          desc = `get ${show(k)} at a snapshot`;
          const got = await db.get(k, { snapshot: s.snap } as { snapshot?: never });
          const want = s.model.map.get(hex(k));
          if ((got === undefined) !== (want === undefined) || (got !== undefined && cmp(got, want!) !== 0)) throw new Error(`got ${show(got)}, expected ${show(want)}`);
        } else {
          const r = range();
          desc = `iterate ${showRange(r)} at a snapshot`;
          sameEntries(await db.iterator({ ...r, snapshot: s.snap }).all(), s.model.range(r), 'snapshot iterator');
        }
      } else if (roll < 94) {
        desc = 'flush';
        await db.flush();
        flushes++;
      } else if (roll < 96) {
        desc = 'sync';
        await db.sync();
      } else if (roll < 99) {
        desc = 'close and reopen';
        for (const s of snaps) s.snap.release();
        snaps = [];
        await db.close();
        db = await o.open();
        reopens++;
      } else {
        desc = 'full scan';
        sameEntries(await db.iterator().all(), model.range({}), 'full scan');
      }
      log.push(desc);
    } catch (e) {
      const last = [...log.slice(-12), `>>> ${desc}`].join('\n    ');
      throw new Error(`${o.label}: seed ${o.seed} step ${step} (${desc}) failed: ${e instanceof Error ? e.message : String(e)}\n  last operations:\n    ${last}\n  rerun with SETT_SEED=${o.seed}`, { cause: e });
    }
  }
  sameEntries(await db.iterator().all(), model.range({}), `${o.label}: seed ${o.seed}: final scan`);
  const report = await db.verify();
  if (!report.ok) throw new Error(`${o.label}: seed ${o.seed}: verify found damage: ${JSON.stringify(report.problems)}`);
  for (const s of snaps) s.snap.release();
  await db.close();
  // Reopen once more: everything must come back from the files alone.
  db = await o.open();
  sameEntries(await db.iterator().all(), model.range({}), `${o.label}: seed ${o.seed}: scan after the last reopen`);
  await db.close();
  model = new Model();
  return { steps: o.steps, reopens, flushes };
}
