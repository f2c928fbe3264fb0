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
  | { op: 'fault'; fault: FaultKind; nth: number };

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
const boundArb: fc.Arbitrary<string> = fc.oneof({ weight: 12, arbitrary: keyArb }, { weight: 1, arbitrary: fc.constant('') });

const valArb: fc.Arbitrary<Val> = fc.record({
  tag: fc.nat(99_999),
  len: fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 12, arbitrary: fc.integer({ min: 1, max: 120 }) }, { weight: 3, arbitrary: fc.integer({ min: 120, max: 500 }) }),
});

const writeOpArb: fc.Arbitrary<WriteOp> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ type: fc.constant('put' as const), key: keyArb, value: valArb }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('del' as const), key: keyArb }) },
);

const syncArb = fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constant(true) });

const rangeArb: fc.Arbitrary<Range> = fc
  .record({
    lower: fc.option(fc.tuple(boundArb, fc.boolean()), { nil: undefined }),
    upper: fc.option(fc.tuple(boundArb, fc.boolean()), { nil: undefined }),
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

function withSync<T extends object>(o: T, sync: true | undefined): T & { sync?: boolean } {
  return sync === undefined ? o : { ...o, sync };
}

export const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 30, arbitrary: fc.tuple(keyArb, valArb, syncArb).map(([key, value, s]): Op => withSync({ op: 'put' as const, key, value }, s)) },
  { weight: 8, arbitrary: fc.tuple(keyArb, syncArb).map(([key, s]): Op => withSync({ op: 'del' as const, key }, s)) },
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
  { weight: 10, arbitrary: keyArb.map((key): Op => ({ op: 'get', key })) },
  { weight: 8, arbitrary: rangeArb.map((r): Op => ({ op: 'iter', ...r })) },
  { weight: 3, arbitrary: fc.constant<Op>({ op: 'snapshot' }) },
  { weight: 4, arbitrary: fc.tuple(fc.nat(7), keyArb).map(([n, key]): Op => ({ op: 'snapGet', n, key })) },
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
  {
    weight: 2,
    arbitrary: fc.tuple(fc.constantFrom<FaultKind>('enospc', 'enospc', 'torn-wal', 'eio-sync', 'eio-any', 'eio-read', 'bitflip-read'), fc.integer({ min: 1, max: 12 })).map(([fault, nth]): Op => ({ op: 'fault', fault, nth })),
  },
);

export function opsArb(maxOps: number): fc.Arbitrary<Op[]> {
  // 'max': lengths spread over the whole range (fast-check's default size keeps arrays short).
  return fc.array(opArb, { minLength: 1, maxLength: maxOps, size: 'max' });
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
