/**
 * The bank test (after Jepsen's and Badger's): N accounts with equal balances; C concurrent
 * async workers move money between random accounts in read-write transactions, reading the two
 * balances with `get`, with a one-entry seek (iterator with limit 1) or with one range iterator
 * spanning both, at random; a checker keeps reading every balance
 * in a read-only transaction and verifies the total. Under serializable transactions the total
 * never changes and no balance goes negative; a lost update or a torn read breaks it at once.
 *
 * Used by `sett bank` and by test/unit/txn-bank.test.ts.
 */
import type { DB } from '../api/db.js';
import { ErrConflict } from '../api/errors.js';
import { fromUtf8 } from '../codec/bytes.js';
import type { Txn } from './txn.js';

export interface BankOptions {
  accounts: number;
  concurrency: number;
  /** Run for this long. */
  seconds: number;
  /** Starting balance of every account (default 1000). */
  initialBalance?: number;
  /** Seed of the workers' choices (default: from the clock). */
  seed?: number;
  /** Called once the accounts exist, right before the transfers start. */
  onStart?: () => void;
}

export interface BankFigures {
  accounts: number;
  concurrency: number;
  seed: number;
  /** Committed transfers. */
  transfers: number;
  /** Transfers that failed with ErrConflict (not retried: each is counted). */
  conflicts: number;
  /** Transfers skipped because the source balance was too low. */
  insufficient: number;
  /** Complete balance checks by the checker, all of which matched. */
  checks: number;
  /** Total seen by the last check. */
  total: number;
  ms: number;
}

const PREFIX = 'bank/';

export function accountKey(i: number): string {
  return `${PREFIX}${String(i).padStart(8, '0')}`;
}

/** A small seeded PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

function balanceOf(v: Uint8Array | undefined, key: string): number {
  if (v === undefined) throw new Error(`bank: account ${key} is missing`);
  const n = Number(fromUtf8(v));
  if (!Number.isSafeInteger(n)) throw new Error(`bank: account ${key} holds ${JSON.stringify(fromUtf8(v))}`);
  return n;
}

/** Reads every balance in one read-only transaction; throws if the invariant is broken. */
export function checkBank(t: Txn, accounts: number, expected: number, useIterator: boolean): number {
  let total = 0;
  let count = 0;
  if (useIterator) {
    for (const [k, v] of t.iterator({ prefix: PREFIX })) {
      const b = balanceOf(v, fromUtf8(k));
      if (b < 0) throw new Error(`bank: ${fromUtf8(k)} has a negative balance ${b}`);
      total += b;
      count++;
    }
  } else {
    for (let i = 0; i < accounts; i++) {
      const b = balanceOf(t.getSync(accountKey(i)), accountKey(i));
      if (b < 0) throw new Error(`bank: ${accountKey(i)} has a negative balance ${b}`);
      total += b;
      count++;
    }
  }
  if (count !== accounts || total !== expected) {
    throw new Error(`bank: invariant broken at version ${t.readVersion}: ${count} accounts totalling ${total}, expected ${accounts} totalling ${expected}`);
  }
  return total;
}

/**
 * Creates the accounts (or, if they exist, checks them and keeps them), runs the workers and
 * the checker, returns the figures. Throws if any check fails.
 */
export async function runBank(db: DB, o: BankOptions): Promise<BankFigures> {
  const initial = o.initialBalance ?? 1000;
  const seed = o.seed ?? Date.now() % 2 ** 31;
  if (o.accounts < 2) throw new RangeError('bank: at least 2 accounts');
  const expected = o.accounts * initial;
  if (db.hasSync(accountKey(0))) {
    // Accounts from an earlier run (e.g. one that was killed): check them and go on with them.
    await db.view((t) => checkBank(t, o.accounts, expected, true));
  } else {
    // One batch (so a crash leaves all accounts or none), split only beyond 1000 accounts.
    for (let i = 0; i < o.accounts; i += 1000) {
      const b = db.batch();
      for (let j = i; j < Math.min(o.accounts, i + 1000); j++) b.put(accountKey(j), String(initial));
      await b.write();
    }
  }
  const f: BankFigures = { accounts: o.accounts, concurrency: o.concurrency, seed, transfers: 0, conflicts: 0, insufficient: 0, checks: 0, total: expected, ms: 0 };
  o.onStart?.();
  const t0 = Date.now();
  const deadline = t0 + o.seconds * 1000;
  let failure: unknown;
  const running = (): boolean => failure === undefined && Date.now() < deadline;

  const worker = async (w: number): Promise<void> => {
    const random = rng(seed + w * 7919);
    while (running()) {
      const from = Math.floor(random() * o.accounts);
      let to = Math.floor(random() * (o.accounts - 1));
      if (to >= from) to++;
      const amount = 1 + Math.floor(random() * 10);
      const t = db.transaction();
      try {
        let a: number;
        let b: number;
        const mode = random();
        if (mode < 0.4) {
          a = balanceOf(await t.get(accountKey(from)), accountKey(from));
          await turn();
          b = balanceOf(await t.get(accountKey(to)), accountKey(to));
        } else if (mode < 0.7) {
          // A seek: an iterator from the account on, stopped after one entry (limit 1).
          const seek = (i: number): number => {
            const [e] = t.iterator({ gte: accountKey(i), limit: 1 }).allSync();
            return e !== undefined && fromUtf8(e[0]) === accountKey(i) ? balanceOf(e[1], accountKey(i)) : balanceOf(undefined, accountKey(i));
          };
          a = seek(from);
          await turn();
          b = seek(to);
        } else {
          // One range scan from the lower to the higher of the two accounts.
          const lo = Math.min(from, to);
          const hi = Math.max(from, to);
          const seen = new Map<string, number>();
          for (const [k, v] of t.iterator({ gte: accountKey(lo), lte: accountKey(hi) })) {
            const key = fromUtf8(k);
            if (key === accountKey(lo) || key === accountKey(hi)) seen.set(key, balanceOf(v, key));
          }
          a = seen.get(accountKey(from)) ?? balanceOf(undefined, accountKey(from));
          b = seen.get(accountKey(to)) ?? balanceOf(undefined, accountKey(to));
        }
        await turn();
        if (a < amount) {
          f.insufficient++;
          t.rollback();
          continue;
        }
        t.put(accountKey(from), String(a - amount));
        t.put(accountKey(to), String(b + amount));
        await t.commit();
        f.transfers++;
      } catch (e) {
        t.rollback();
        if (e instanceof ErrConflict) f.conflicts++;
        else failure ??= e;
      }
    }
  };

  const checker = async (): Promise<void> => {
    let i = 0;
    while (running()) {
      try {
        f.total = await db.view((t) => checkBank(t, o.accounts, expected, i++ % 2 === 0));
        f.checks++;
      } catch (e) {
        failure ??= e;
      }
      await turn();
    }
  };

  await Promise.all([checker(), ...Array.from({ length: o.concurrency }, (_, w) => worker(w))]);
  if (failure !== undefined) throw failure;
  // One last check after every worker stopped.
  f.total = await db.view((t) => checkBank(t, o.accounts, expected, true));
  f.checks++;
  f.ms = Date.now() - t0;
  return f;
}
