/**
 * The metamorphic test's operations: their plain-JSON shapes, the seeded fast-check generator,
 * the one-shot faults they can arm, and the option sets the sequences run under. The runner is
 * in metamorphic.ts. Add an operation here (shape, arbitrary) and its effect there (Run.step).
 */
import fc from 'fast-check';
import type { Options } from '../../src/api/options.js';
import type { FaultRule } from '../../src/fs/fault.js';
import type { KeepUnsynced } from '../../src/fs/memory.js';
import { TINY } from './db.js';

// ---------------------------------------------------------------------------------------------
// Operations

/** A value is made from a tag and a length, so every write of a key reads differently. */
export interface Val {
  tag: number;
  len: number;
}
export type WriteOp = { type: 'put'; key: string; value: Val } | { type: 'del'; key: string };
export interface Range {
  /** [key, inclusive] */
  lower?: [string, boolean];
  upper?: [string, boolean];
  reverse?: boolean;
  limit?: number;
}
export type FaultKind = 'enospc' | 'torn-wal' | 'eio-sync' | 'eio-any' | 'eio-read' | 'bitflip-read';
export interface BurstWrite {
  ops: WriteOp[];
  sync?: boolean;
}

/**
 * A read or a write inside a transaction. `expired` puts with an expiry already past (invisible
 * at once, but a write all the same); `ttl` puts with an expiry that many seconds after the
 * test clock's time at the put (visible until the clock reaches it; the runner passes it as
 * `ttl` or as the same `expiresAt`, by the value's tag); `meta` adds a userMeta byte; `take`
 * closes the iterator after that many entries (then only the part it read counts for
 * conflicts). Only transactions take an expiry: put() and batch() have no TTL option.
 */
export type TxnStep =
  | { do: 'get'; key: string }
  | { do: 'has'; key: string }
  | { do: 'put'; key: string; value: Val; meta?: number; expired?: true; ttl?: number }
  | { do: 'del'; key: string }
  | ({ do: 'iter'; take?: number } & Range);
export type TxnWrite = Extract<TxnStep, { do: 'put' | 'del' }>;
export type TxnScan = Extract<TxnStep, { do: 'iter' }>;

/**
 * One step of an interleaved script ('txns'). Transactions are named by number `t`; steps of a
 * transaction that is not open are skipped. Commits and plain writes in a row are issued
 * together (one group commit or a few) and settled in order.
 */
export type ScriptStep =
  | { do: 'begin'; t: number; readOnly?: true }
  | (TxnStep & { t: number })
  | { do: 'commit'; t: number; sync?: boolean }
  | { do: 'rollback'; t: number }
  | { do: 'write'; ops: WriteOp[]; sync?: boolean }
  | { do: 'flush' }
  | { do: 'flatten' }
  /** The test clock moves `s` seconds forward (with transactions open: they read at the new time). */
  | { do: 'advance'; s: number };

export type Op =
  | { op: 'put'; key: string; value: Val; sync?: boolean }
  | { op: 'del'; key: string; sync?: boolean }
  | { op: 'batch'; ops: WriteOp[]; sync?: boolean }
  /** Writes issued together without waiting (one group commit or a few), maybe with a flush() among them. */
  | { op: 'burst'; writes: BurstWrite[]; flushAt?: number }
  | { op: 'get'; key: string }
  | ({ op: 'iter' } & Range)
  | { op: 'snapshot' }
  | { op: 'snapGet'; n: number; key: string }
  | ({ op: 'snapIter'; n: number } & Range)
  | { op: 'release'; n: number }
  | { op: 'flush' }
  | { op: 'sync' }
  | { op: 'compactRange'; start?: string; end?: string }
  | { op: 'flatten' }
  | { op: 'verify' }
  | { op: 'reopen' }
  | { op: 'crash'; keep: KeepUnsynced; seed: number }
  | { op: 'fault'; fault: FaultKind; nth: number }
  /** The test clock (clock.ts) moves `s` seconds forward: entries whose expiry it reaches vanish. */
  | { op: 'advance'; s: number }
  /** One transaction (transaction()/commit() or update(), view() when read-only), committed or rolled back. */
  | { op: 'txn'; steps: TxnStep[]; end: 'commit' | 'rollback'; sync?: boolean; readOnly?: true }
  /** Transactions, plain writes, flushes and advances of the clock interleaved, over a few keys so that commits conflict. */
  | { op: 'txns'; steps: ScriptStep[] };

export function valueOf(v: Val): string {
  const head = `v${v.tag}.`;
  if (v.len <= head.length) return head.slice(0, v.len);
  return head + String.fromCharCode(97 + (v.tag % 26)).repeat(v.len - head.length);
}

/** A key longer than a TINY block (64 bytes), and one that extends it. */
const LONG = `L${'m'.repeat(70)}`;

const keyArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 63 }).map((n) => `k${String(n).padStart(3, '0')}`) },
  // Short keys over a tiny alphabet: prefixes of each other, the lowest and a high byte.
  { weight: 2, arbitrary: fc.array(fc.constantFrom('a', 'b', '\u0000', '~'), { minLength: 1, maxLength: 3 }).map((a) => a.join('')) },
  { weight: 1, arbitrary: fc.constantFrom(LONG, `${LONG}~`, `${LONG}\u0000`) },
);
/**
 * Keys written only with a TTL (by the expiring writes below; deletes reach them too), like a
 * namespace of sessions or cache entries: their tables hold entries that all expire, which is
 * what expiry compactions look for (a last-level table whose entries all expired is dropped
 * unread). They sort after the k keys, before '~'.
 */
const ttlKeyArb: fc.Arbitrary<string> = fc.integer({ min: 0, max: 63 }).map((n) => `t${String(n).padStart(2, '0')}`);
/** Keys of the sequential loads (loadArb below). */
const loadKeyArb: fc.Arbitrary<string> = fc.integer({ min: 0, max: 3300 }).map((n) => `s${String(n).padStart(5, '0')}`);
/** Keys to read (and delete): the written ones, the TTL-only ones and the loaded ones. */
const readKeyArb: fc.Arbitrary<string> = fc.oneof({ weight: 10, arbitrary: keyArb }, { weight: 2, arbitrary: ttlKeyArb }, { weight: 1, arbitrary: loadKeyArb });

const boundArb: fc.Arbitrary<string> = fc.oneof({ weight: 12, arbitrary: readKeyArb }, { weight: 1, arbitrary: fc.constant('') });

const valArb: fc.Arbitrary<Val> = fc.record({
  tag: fc.nat(99_999),
  len: fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 12, arbitrary: fc.integer({ min: 1, max: 120 }) }, { weight: 3, arbitrary: fc.integer({ min: 120, max: 500 }) }),
});

function writeOpArbOf(key: fc.Arbitrary<string>, value: fc.Arbitrary<Val>): fc.Arbitrary<WriteOp> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.record({ type: fc.constant('put' as const), key, value }) },
    { weight: 1, arbitrary: fc.record({ type: fc.constant('del' as const), key }) },
  );
}
const writeOpArb = writeOpArbOf(keyArb, valArb);

const syncArb = fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constant(true) });

function rangeArbOf(bound: fc.Arbitrary<string>): fc.Arbitrary<Range> {
  return fc
    .record({
      lower: fc.option(fc.tuple(bound, fc.boolean()), { nil: undefined }),
      upper: fc.option(fc.tuple(bound, fc.boolean()), { nil: undefined }),
      reverse: fc.boolean(),
      limit: fc.option(fc.integer({ min: 0, max: 8 }), { nil: undefined, freq: 3 }),
    })
    .map((r) => {
      const o: Range = {};
      if (r.lower !== undefined) o.lower = r.lower;
      if (r.upper !== undefined) o.upper = r.upper;
      if (r.reverse) o.reverse = true;
      if (r.limit !== undefined) o.limit = r.limit;
      return o;
    });
}
const rangeArb = rangeArbOf(boundArb);

function withSync<T extends object>(o: T, sync: true | undefined): T & { sync?: boolean } {
  return sync === undefined ? o : { ...o, sync };
}

// Transactions

/** Mostly `undefined`, now and then a value of `arb` (1 in `1 + rarity`). */
function rarely<T>(arb: fc.Arbitrary<T>, rarity: number): fc.Arbitrary<T | undefined> {
  return fc.oneof({ weight: rarity, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });
}

/** Smaller values than plain writes: a transaction may hold only 15% of memtableSize (614 bytes under TINY). */
const txnValArb: fc.Arbitrary<Val> = fc.record({
  tag: fc.nat(99_999),
  len: fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 12, arbitrary: fc.integer({ min: 1, max: 40 }) }, { weight: 1, arbitrary: fc.integer({ min: 41, max: 400 }) }),
});

/** Seconds from the put to the expiry of a `ttl` put: a few advances of the clock. */
const ttlArb = fc.oneof({ weight: 2, arbitrary: fc.integer({ min: 1, max: 30 }) }, { weight: 1, arbitrary: fc.integer({ min: 31, max: 300 }) });

/** How far an advance moves the clock: mostly a few seconds, now and then hours or days (everything expires). */
const advanceArb = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 40 }) }, { weight: 1, arbitrary: fc.integer({ min: 3600, max: 400_000 }) });

/** A put's expiry: none, `ttl` seconds after the clock at the put, or already past (`expired`). */
type Life = { ttl: number } | { expired: true } | undefined;
const lifeArb: fc.Arbitrary<Life> = fc.oneof(
  { weight: 5, arbitrary: fc.constant(undefined) },
  { weight: 3, arbitrary: ttlArb.map((ttl) => ({ ttl })) },
  { weight: 1, arbitrary: fc.constant({ expired: true as const }) },
);

function putStep(key: string, value: Val, meta: number | undefined, life: Life): TxnStep {
  const o: TxnStep = { do: 'put', key, value };
  if (meta !== undefined) o.meta = meta;
  if (life !== undefined) Object.assign(o, life);
  return o;
}

/** Steps over `key` (reads over `readKey`). */
function txnStepArb(key: fc.Arbitrary<string>, bound: fc.Arbitrary<string>, readKey = key): fc.Arbitrary<TxnStep> {
  const put = fc.record({ key, value: txnValArb, meta: rarely(fc.nat(255), 4), life: lifeArb }).map(({ key, value, meta, life }) => putStep(key, value, meta, life));
  const iter = fc.tuple(rangeArbOf(bound), rarely(fc.nat(4), 3)).map(([r, take]): TxnStep => (take === undefined ? { do: 'iter', ...r } : { do: 'iter', ...r, take }));
  return fc.oneof(
    { weight: 3, arbitrary: readKey.map((k): TxnStep => ({ do: 'get', key: k })) },
    { weight: 1, arbitrary: readKey.map((k): TxnStep => ({ do: 'has', key: k })) },
    { weight: 4, arbitrary: put },
    { weight: 1, arbitrary: key.map((k): TxnStep => ({ do: 'del', key: k })) },
    { weight: 2, arbitrary: iter },
  );
}

const endArb = fc.constantFrom<'commit' | 'rollback'>('commit', 'commit', 'commit', 'commit', 'rollback');
const readOnlyArb = rarely(fc.constant(true as const), 5);

const txnOpArb: fc.Arbitrary<Op> = fc.tuple(fc.array(txnStepArb(keyArb, boundArb, readKeyArb), { maxLength: 10 }), endArb, syncArb, readOnlyArb).map(([steps, end, sync, readOnly]): Op => {
  const o: Op = withSync({ op: 'txn' as const, steps, end }, sync);
  return readOnly === undefined ? o : { ...o, readOnly };
});

/**
 * Expiring writes: a blind transaction of a few puts with a TTL (plain writes take none), most
 * over the TTL-only keys, some over plain ones (a TTL entry above an older plain value: once it
 * expires, the key must stay gone), now and then one without a TTL. Enough of them fill whole
 * tables with entries that expire, which expiry compactions then reclaim.
 */
const ttlPutArb: fc.Arbitrary<TxnStep> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(ttlKeyArb, txnValArb, ttlArb).map(([key, value, ttl]) => putStep(key, value, undefined, { ttl })) },
  { weight: 2, arbitrary: fc.tuple(keyArb, txnValArb, ttlArb).map(([key, value, ttl]) => putStep(key, value, undefined, { ttl })) },
  { weight: 1, arbitrary: fc.tuple(keyArb, txnValArb).map(([key, value]) => putStep(key, value, undefined, undefined)) },
);
const ttlWritesOpArb: fc.Arbitrary<Op> = fc
  .tuple(fc.array(ttlPutArb, { minLength: 1, maxLength: 8 }), syncArb)
  .map(([steps, sync]): Op => withSync({ op: 'txn' as const, steps, end: 'commit' as const }, sync));

/** Merges streams, keeping each one's order: `picks[i]` chooses the stream of step i (then the first). */
function interleave<T>(streams: readonly T[][], picks: readonly number[]): T[] {
  const queues = streams.filter((s) => s.length > 0).map((s) => [...s]);
  const out: T[] = [];
  for (let i = 0; queues.length > 0; i++) {
    const q = (picks[i] ?? 0) % queues.length;
    out.push(queues[q]!.shift()!);
    if (queues[q]!.length === 0) queues.splice(q, 1);
  }
  return out;
}

interface TxnScript {
  readOnly: true | undefined;
  steps: TxnStep[];
  end: 'commit' | 'rollback';
  sync: true | undefined;
}

function txnStream(t: number, x: TxnScript): ScriptStep[] {
  const begin: ScriptStep = x.readOnly === undefined ? { do: 'begin', t } : { do: 'begin', t, readOnly: true };
  const end: ScriptStep = x.end === 'rollback' ? { do: 'rollback', t } : withSync({ do: 'commit' as const, t }, x.sync);
  // `do` and `t` first, so that the op log reads well.
  const steps = x.steps.map(({ do: kind, ...rest }) => ({ do: kind, t, ...rest }) as ScriptStep);
  return [begin, ...steps, end];
}

/**
 * Two or three transactions and a few plain writes (maybe a flush or flatten, maybe an advance
 * of the clock) interleaved, all over a pool of one to four keys, so that reads and writes of
 * different transactions meet.
 */
const txnsOpArb: fc.Arbitrary<Op> = fc.uniqueArray(keyArb, { minLength: 1, maxLength: 4 }).chain((pool) => {
  const key = fc.constantFrom(...pool);
  const bound = fc.oneof({ weight: 6, arbitrary: key }, { weight: 1, arbitrary: boundArb });
  const txn: fc.Arbitrary<TxnScript> = fc.record({ readOnly: readOnlyArb, steps: fc.array(txnStepArb(key, bound), { maxLength: 6 }), end: endArb, sync: syncArb });
  const write = fc.tuple(fc.array(writeOpArbOf(key, txnValArb), { minLength: 1, maxLength: 2 }), syncArb).map(([ops, sync]): ScriptStep => withSync({ do: 'write' as const, ops }, sync));
  const maintain = fc.constantFrom<ScriptStep>({ do: 'flush' }, { do: 'flatten' });
  const advance = advanceArb.map((s): ScriptStep => ({ do: 'advance', s }));
  return fc
    .tuple(fc.array(txn, { minLength: 2, maxLength: 3 }), fc.array(write, { maxLength: 3 }), rarely(maintain, 4), rarely(advance, 3), fc.array(fc.nat(), { maxLength: 40 }))
    .map(([txns, writes, other, later, picks]): Op => {
      const streams = [...txns.map((x, t) => txnStream(t, x)), ...writes.map((w) => [w]), other === undefined ? [] : [other], later === undefined ? [] : [later]];
      return { op: 'txns', steps: interleave(streams, picks) };
    });
});

export const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 30, arbitrary: fc.tuple(keyArb, valArb, syncArb).map(([key, value, s]): Op => withSync({ op: 'put' as const, key, value }, s)) },
  { weight: 8, arbitrary: fc.tuple(readKeyArb, syncArb).map(([key, s]): Op => withSync({ op: 'del' as const, key }, s)) },
  { weight: 8, arbitrary: fc.tuple(fc.array(writeOpArb, { minLength: 1, maxLength: 8 }), syncArb).map(([ops, s]): Op => withSync({ op: 'batch' as const, ops }, s)) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.array(fc.tuple(fc.array(writeOpArb, { minLength: 1, maxLength: 3 }), syncArb), { minLength: 2, maxLength: 10 }), fc.option(fc.nat(10), { nil: undefined, freq: 3 }))
      .map(([ws, flushAt]): Op => {
        const writes = ws.map(([ops, sync]) => withSync({ ops }, sync));
        return flushAt === undefined ? { op: 'burst', writes } : { op: 'burst', writes, flushAt };
      }),
  },
  { weight: 10, arbitrary: readKeyArb.map((key): Op => ({ op: 'get', key })) },
  { weight: 8, arbitrary: rangeArb.map((r): Op => ({ op: 'iter', ...r })) },
  { weight: 3, arbitrary: fc.constant<Op>({ op: 'snapshot' }) },
  { weight: 4, arbitrary: fc.tuple(fc.nat(7), readKeyArb).map(([n, key]): Op => ({ op: 'snapGet', n, key })) },
  { weight: 3, arbitrary: fc.tuple(fc.nat(7), rangeArb).map(([n, r]): Op => ({ op: 'snapIter', n, ...r })) },
  { weight: 1, arbitrary: fc.nat(7).map((n): Op => ({ op: 'release', n })) },
  { weight: 3, arbitrary: fc.constant<Op>({ op: 'flush' }) },
  { weight: 2, arbitrary: fc.constant<Op>({ op: 'sync' }) },
  {
    weight: 2,
    arbitrary: fc.tuple(fc.option(keyArb, { nil: undefined }), fc.option(keyArb, { nil: undefined })).map(([a, b]): Op => {
      const o: Op = { op: 'compactRange' };
      // Ordered bounds (an empty range is fine too, but rarely interesting).
      const [start, end] = a !== undefined && b !== undefined && a > b ? [b, a] : [a, b];
      if (start !== undefined) o.start = start;
      if (end !== undefined) o.end = end;
      return o;
    }),
  },
  { weight: 1, arbitrary: fc.constant<Op>({ op: 'flatten' }) },
  { weight: 1, arbitrary: fc.constant<Op>({ op: 'verify' }) },
  { weight: 2, arbitrary: fc.constant<Op>({ op: 'reopen' }) },
  {
    weight: 3,
    arbitrary: fc.tuple(fc.constantFrom<KeepUnsynced>('random', 'random', 'none', 'all'), fc.nat(0x7fff_ffff)).map(([keep, seed]): Op => ({ op: 'crash', keep, seed })),
  },
  { weight: 6, arbitrary: txnOpArb },
  { weight: 5, arbitrary: txnsOpArb },
  { weight: 16, arbitrary: ttlWritesOpArb },
  { weight: 4, arbitrary: advanceArb.map((s): Op => ({ op: 'advance', s })) },
  {
    weight: 2,
    arbitrary: fc.tuple(fc.constantFrom<FaultKind>('enospc', 'enospc', 'torn-wal', 'eio-sync', 'eio-any', 'eio-read', 'bitflip-read'), fc.integer({ min: 1, max: 12 })).map(([fault, nth]): Op => ({ op: 'fault', fault, nth })),
  },
);

/**
 * A sequential load (a chain's blocks by height): a flush, then single puts of 100-300
 * ascending `s` keys (between the k and t keys) from a random start, so later runs sometimes
 * overwrite earlier ones. The flushes it causes hold one key range after another: L0 tables
 * that are disjoint, which compaction moves down unread when no base table lies among them.
 */
const loadArb: fc.Arbitrary<Op[]> = fc
  .record({ start: fc.integer({ min: 0, max: 3000 }), n: fc.integer({ min: 100, max: 300 }), tag: fc.nat(99_999), len: fc.integer({ min: 1, max: 40 }) })
  .map(({ start, n, tag, len }) => [
    { op: 'flush' } as Op,
    ...Array.from({ length: n }, (_, i): Op => ({ op: 'put', key: `s${String(start + i).padStart(5, '0')}`, value: { tag: tag + i, len } })),
  ]);

export function opsArb(maxOps: number): fc.Arbitrary<Op[]> {
  // 'max': lengths spread over the whole range (fast-check's default size keeps arrays short).
  // About one step in 400 is a load of ~200 puts: sequences get about half again as long.
  const step = fc.oneof({ weight: 400, arbitrary: opArb.map((op) => [op]) }, { weight: 1, arbitrary: loadArb });
  return fc.array(step, { minLength: 1, maxLength: maxOps, size: 'max' }).map((steps) => steps.flat());
}

// ---------------------------------------------------------------------------------------------
// Option sets

export interface MetaConfig {
  name: string;
  options: Partial<Options>;
  /** Sequences per `npm test` run, and the longest sequence. */
  runs: number;
  maxOps: number;
}

/** Flushes every few hundred writes, blocks of several entries, a few levels. */
export const SMALL: Partial<Options> = {
  memtableSize: 32 * 1024,
  blockSize: 512,
  maxImmutableMemtables: 3,
  manifestRewriteBytes: 4096,
  l0CompactTables: 3,
  baseLevelBytes: 64 * 1024,
  baseTableBytes: 16 * 1024,
  levelMultiplier: 4,
  compactionWorkers: 0,
};

export const CONFIGS: readonly MetaConfig[] = [
  { name: 'TINY', options: TINY, runs: 120, maxOps: 300 },
  { name: 'TINY+compression-none', options: { ...TINY, compression: 'none', bloomFalsePositiveRate: 0, blockRestartInterval: 1 }, runs: 80, maxOps: 300 },
  { name: 'TINY+sync', options: { ...TINY, sync: true }, runs: 80, maxOps: 300 },
  { name: 'TINY+cache-0', options: { ...TINY, blockCacheSize: 0 }, runs: 80, maxOps: 300 },
  // The worker-pool runner on a non-Node file system runs jobs inline, but still splits large
  // compactions into (here 3) subcompactions, which then interleave on the engine's thread.
  { name: 'TINY+subcompactions', options: { ...TINY, compactionWorkers: 3 }, runs: 60, maxOps: 300 },
  { name: 'SMALL', options: SMALL, runs: 40, maxOps: 800 },
];

export function configNamed(name: string): MetaConfig {
  const c = CONFIGS.find((x) => x.name === name);
  if (c === undefined) throw new RangeError(`no metamorphic option set named ${name} (have: ${CONFIGS.map((x) => x.name).join(', ')})`);
  return c;
}

/** The rule a fault operation adds (one-shot: it fires on the nth matching operation). */
export function faultRule(fault: FaultKind, nth: number): FaultRule {
  switch (fault) {
    case 'enospc':
      return { fault: 'ENOSPC', kind: 'write', nth };
    case 'torn-wal':
      return { fault: 'torn', kind: 'write', path: /\.wal$/, nth };
    case 'eio-sync':
      return { fault: 'EIO', kind: 'sync', nth };
    case 'eio-any':
      return { fault: 'EIO', kind: ['write', 'truncate', 'open', 'rename', 'remove', 'syncDir'], nth };
    case 'eio-read':
      return { fault: 'EIO', kind: 'read', path: /\.sst$/, nth };
    case 'bitflip-read':
      return { fault: 'bitflip', kind: 'read', path: /\.sst$/, nth };
  }
}
