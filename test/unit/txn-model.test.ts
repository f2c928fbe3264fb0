/**
 * Model test for transactions: random interleavings of up to three open transactions (gets,
 * has, range scans in both directions with limits, puts, deletes, commits alone or several in
 * one commit group, rollbacks) and plain puts and deletes, against a sorted-map model.
 *
 * Checked at every step:
 *  - every read inside a transaction equals the model as of its begin, overlaid with its own
 *    writes (read your own writes, snapshot reads);
 *  - a commit fails with ErrConflict exactly when some write committed after the transaction
 *    began touched a key it read or a key inside a range it scanned (with the bounds given);
 *    so every committed transaction's reads are still true at its commit point (serializable
 *    in commit order), and no commit is refused without cause.
 *
 * Runs under TINY options too, so flushes and compactions happen under open transactions.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrConflict } from '../../src/api/errors.js';
import type { Txn } from '../../src/txn/txn.js';
import { openMem, s, TINY } from '../helpers/db.js';

const KEYS = ['a', 'ab', 'b', 'ba', 'c', 'd', 'dd', 'e'];
type Range = { gte?: string; gt?: string; lte?: string; lt?: string; reverse: boolean; limit?: number; take?: number };
type Cmd =
  | { op: 'begin'; slot: number }
  | { op: 'get'; slot: number; key: string }
  | { op: 'scan'; slot: number; range: Range }
  | { op: 'put'; slot: number; key: string; value: string }
  | { op: 'del'; slot: number; key: string }
  | { op: 'commit'; slots: number[] }
  | { op: 'rollback'; slot: number }
  | { op: 'plainPut'; key: string; value: string }
  | { op: 'plainDel'; key: string };

const key = fc.constantFrom(...KEYS);
const slot = fc.integer({ min: 0, max: 2 });
const value = fc.string({ minLength: 1, maxLength: 6 });
const range: fc.Arbitrary<Range> = fc
  .record({ lo: fc.option(key), loInc: fc.boolean(), hi: fc.option(key), hiInc: fc.boolean(), reverse: fc.boolean(), limit: fc.option(fc.integer({ min: 0, max: 4 })), take: fc.option(fc.integer({ min: 0, max: 4 })) })
  .map(({ lo, loInc, hi, hiInc, reverse, limit, take }) => {
    const r: Range = { reverse };
    if (lo !== null) r[loInc ? 'gte' : 'gt'] = lo;
    if (hi !== null) r[hiInc ? 'lte' : 'lt'] = hi;
    if (limit !== null) r.limit = limit;
    if (take !== null) r.take = take;
    return r;
  });
const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { arbitrary: slot.map((slot) => ({ op: 'begin' as const, slot })), weight: 3 },
  { arbitrary: fc.record({ slot, key }).map((c) => ({ op: 'get' as const, ...c })), weight: 4 },
  { arbitrary: fc.record({ slot, range }).map((c) => ({ op: 'scan' as const, ...c })), weight: 2 },
  { arbitrary: fc.record({ slot, key, value }).map((c) => ({ op: 'put' as const, ...c })), weight: 4 },
  { arbitrary: fc.record({ slot, key }).map((c) => ({ op: 'del' as const, ...c })), weight: 1 },
  { arbitrary: fc.uniqueArray(slot, { minLength: 1, maxLength: 3 }).map((slots) => ({ op: 'commit' as const, slots })), weight: 3 },
  { arbitrary: slot.map((slot) => ({ op: 'rollback' as const, slot })), weight: 1 },
  { arbitrary: fc.record({ key, value }).map((c) => ({ op: 'plainPut' as const, ...c })), weight: 3 },
  { arbitrary: key.map((key) => ({ op: 'plainDel' as const, key })), weight: 1 },
);

interface Open {
  txn: Txn;
  /** Model state at begin. */
  base: Map<string, string>;
  /** Number of committed writes at begin. */
  seq: number;
  own: Map<string, string | undefined>;
  reads: Set<string>;
  ranges: Range[];
}

function inRange(r: Range, k: string): boolean {
  if (r.gte !== undefined && k < r.gte) return false;
  if (r.gt !== undefined && k <= r.gt) return false;
  if (r.lte !== undefined && k > r.lte) return false;
  if (r.lt !== undefined && k >= r.lt) return false;
  return true;
}

function view(o: Open): Map<string, string> {
  const m = new Map(o.base);
  for (const [k, v] of o.own) {
    if (v === undefined) m.delete(k);
    else m.set(k, v);
  }
  return m;
}

const stats = { conflicts: 0, commits: 0 };

async function run(cmds: Cmd[], options: object): Promise<void> {
  const { db } = await openMem(undefined, options);
  const model = new Map<string, string>();
  const log: Set<string>[] = []; // keys of each committed write, in commit order
  const slots: (Open | undefined)[] = [undefined, undefined, undefined];
  const apply = (writes: Map<string, string | undefined>): void => {
    for (const [k, v] of writes) {
      if (v === undefined) model.delete(k);
      else model.set(k, v);
    }
    log.push(new Set(writes.keys()));
  };
  try {
    for (const c of cmds) {
      if (c.op === 'plainPut' || c.op === 'plainDel') {
        if (c.op === 'plainPut') await db.put(c.key, c.value);
        else await db.delete(c.key);
        apply(new Map([[c.key, c.op === 'plainPut' ? c.value : undefined]]));
        continue;
      }
      if (c.op === 'begin') {
        slots[c.slot]?.txn.rollback();
        slots[c.slot] = { txn: db.transaction(), base: new Map(model), seq: log.length, own: new Map(), reads: new Set(), ranges: [] };
        continue;
      }
      if (c.op === 'commit') {
        const group = c.slots.map((i) => slots[i]).filter((o): o is Open => o !== undefined);
        for (const i of c.slots) slots[i] = undefined;
        const results = await Promise.allSettled(group.map((o) => o.txn.commit()));
        for (const [i, o] of group.entries()) {
          const later = log.slice(o.seq);
          const conflict = o.own.size > 0 && later.some((w) => [...w].some((k) => o.reads.has(k) || o.ranges.some((r) => inRange(r, k))));
          const r = results[i]!;
          if (conflict) stats.conflicts++;
          else if (o.own.size > 0) stats.commits++;
          if (conflict) {
            expect(r.status).toBe('rejected');
            expect((r as PromiseRejectedResult).reason).toBeInstanceOf(ErrConflict);
          } else {
            if (r.status === 'rejected') throw r.reason;
            if (o.own.size > 0) apply(o.own);
          }
        }
        continue;
      }
      const o = slots[c.slot];
      if (o === undefined) continue;
      if (c.op === 'rollback') {
        o.txn.rollback();
        slots[c.slot] = undefined;
      } else if (c.op === 'get') {
        const got = o.txn.getSync(c.key);
        if (!o.own.has(c.key)) o.reads.add(c.key);
        expect(got === undefined ? undefined : s(got)).toBe(view(o).get(c.key));
        expect(o.txn.hasSync(c.key)).toBe(view(o).has(c.key));
      } else if (c.op === 'scan') {
        const { reverse, limit, take, ...bounds } = c.range;
        const it = o.txn.iterator({ ...bounds, reverse, ...(limit === undefined ? {} : { limit }) });
        const got: string[][] = [];
        // Read `take` entries then close early, or drain to the end.
        while (take === undefined || got.length < take) {
          const e = it.nextSync();
          if (e === undefined) break;
          got.push([s(e[0]), s(e[1])]);
        }
        it.closeSync();
        let want = [...view(o)].filter(([k]) => inRange(c.range, k)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        if (reverse) want.reverse();
        if (limit !== undefined) want = want.slice(0, limit);
        if (take !== undefined) want = want.slice(0, take);
        expect(got).toEqual(want);
        // What the transaction observed: the bounds, cut at the last key read if it stopped early.
        const stoppedEarly = (take !== undefined && got.length === take) || (limit !== undefined && got.length === limit);
        const last = got[got.length - 1]?.[0];
        if (!stoppedEarly) o.ranges.push(c.range);
        else if (last !== undefined) {
          const r: Range = { ...c.range };
          if (reverse) {
            delete r.gt;
            r.gte = r.gte !== undefined && r.gte > last ? r.gte : last;
          } else {
            delete r.lt;
            r.lte = r.lte !== undefined && r.lte < last ? r.lte : last;
          }
          o.ranges.push(r);
        }
      } else if (c.op === 'put') {
        o.txn.put(c.key, c.value);
        o.own.set(c.key, c.value);
      } else {
        o.txn.delete(c.key);
        o.own.set(c.key, undefined);
      }
    }
    for (const o of slots) o?.txn.rollback();
    expect(db.iterator().allSync().map(([k, v]) => [s(k), s(v)])).toEqual([...model].sort(([a], [b]) => (a < b ? -1 : 1)));
  } finally {
    await db.close();
  }
}

describe('transactions against a model', () => {
  it('default options', async () => {
    await fc.assert(fc.asyncProperty(fc.array(cmd, { minLength: 10, maxLength: 80, size: 'max' }), (cmds) => run(cmds, {})), { numRuns: 300 });
  });
  it('TINY options (flushes and compactions under open transactions)', async () => {
    await fc.assert(fc.asyncProperty(fc.array(cmd, { minLength: 10, maxLength: 120, size: 'max' }), (cmds) => run(cmds, { ...TINY, memtableSize: 16 * 1024 })), { numRuns: 100 });
  });
  it('exercised both outcomes', () => {
    expect(stats.conflicts).toBeGreaterThan(20);
    expect(stats.commits).toBeGreaterThan(100);
  });
});
