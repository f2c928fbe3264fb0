import { describe, expect, it } from 'vitest';
import type { Change } from '../../src/txn/subscribe.js';
import { openMem, s } from '../helpers/db.js';

const show = (c: Change): string => `${s(c.key)}=${c.value === undefined ? '<del>' : s(c.value)}@${c.version}${c.userMeta >= 0 ? ` m${c.userMeta}` : ''}`;

describe('subscriptions', () => {
  it('delivers matching entries of puts, batches and transactions, whole and in version order', async () => {
    const { db } = await openMem();
    await db.put('user/0', 'before'); // not delivered: before the subscription
    const got: string[][] = [];
    const sub = db.subscribe(['user/', 'admin/'], (changes) => got.push(changes.map(show)));
    const v0 = db.lastVersion;
    await db.put('user/1', 'a');
    await db.put('other', 'x');
    await db.batch([{ type: 'put', key: 'admin/1', value: 'b' }, { type: 'del', key: 'user/1' }, { type: 'put', key: 'other2', value: 'y' }]);
    await db.update((t) => {
      t.put('user/2', 'c', { userMeta: 9 });
      t.put('zzz', 'd');
    });
    // Concurrent writes in one commit group arrive as separate arrays, in order.
    await Promise.all([db.put('user/3', 'e'), db.put('user/4', 'f')]);
    await new Promise((r) => setTimeout(r, 0));
    expect(got).toEqual([
      [`user/1=a@${v0 + 1}`],
      [`admin/1=b@${v0 + 3}`, `user/1=<del>@${v0 + 4}`],
      [`user/2=c@${v0 + 6} m9`],
      [`user/3=e@${v0 + 8}`],
      [`user/4=f@${v0 + 9}`],
    ]);
    sub.close();
    await db.put('user/5', 'g');
    await new Promise((r) => setTimeout(r, 0));
    expect(got.length).toBe(5);
    await db.close();
  });

  it('a callback that throws ends its subscription with the error; others go on; writes from a callback work', async () => {
    const { db } = await openMem();
    const errors: unknown[] = [];
    const bad = db.subscribe([], () => {
      throw new Error('boom');
    }, { onError: (e) => errors.push(e) });
    const seen: string[] = [];
    const good = db.subscribe('k', (changes) => {
      for (const c of changes) {
        seen.push(s(c.key));
        if (s(c.key) === 'k1') void db.put('k2', 'from callback');
      }
    });
    await db.put('k1', 'v');
    await new Promise((r) => setTimeout(r, 10));
    expect(bad.closed).toBe(true);
    expect((bad.error as Error).message).toBe('boom');
    expect(errors.length).toBe(1);
    expect(seen).toEqual(['k1', 'k2']);
    good.close();
    await db.close();
  });
});
