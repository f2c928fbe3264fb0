import { describe, expect, it } from 'vitest';
import type { VersionEntry } from '../../src/txn/versions.js';
import { openMem, s, TINY } from '../helpers/db.js';

const show = (e: VersionEntry): string => `${s(e.key)}@${e.version}=${e.deleted ? '<del>' : s(e.value!)}${e.expired ? ' expired' : ''}${e.userMeta >= 0 ? ` m${e.userMeta}` : ''}`;

describe('all-versions reads', () => {
  it('lists every kept version, newest first per key, with deletes, expiry, bounds, since and limit', async () => {
    const { db } = await openMem(undefined, { ...TINY, memtableSize: 64 * 1024 });
    const v0 = db.lastVersion;
    const snap = db.snapshot(); // keeps the history through compaction
    await db.put('a', '1');
    await db.put('b', '1');
    await db.put('a', '2');
    await db.delete('b');
    await db.flush();
    await db.update((t) => {
      t.put('a', '3', { userMeta: 4 });
      t.put('c', 'x', { expiresAt: 1 });
    });
    await db.compactRange();
    expect(db.versions().map(show)).toEqual([`a@${v0 + 5}=3 m4`, `a@${v0 + 3}=2`, `a@${v0 + 1}=1`, `b@${v0 + 4}=<del>`, `b@${v0 + 2}=1`, `c@${v0 + 6}=x expired`]);
    expect(db.versions({ sinceVersion: v0 + 3 }).map(show)).toEqual([`a@${v0 + 5}=3 m4`, `b@${v0 + 4}=<del>`, `c@${v0 + 6}=x expired`]);
    expect(db.versions({ gt: 'a', lte: 'b' }).map(show)).toEqual([`b@${v0 + 4}=<del>`, `b@${v0 + 2}=1`]);
    expect(db.versions({ prefix: 'a', limit: 2 }).map(show)).toEqual([`a@${v0 + 5}=3 m4`, `a@${v0 + 3}=2`]);
    const mid = db.snapshot();
    await db.put('a', '4');
    expect(db.versions({ snapshot: mid, prefix: 'a' }).length).toBe(3);
    expect(db.versions({ prefix: 'a' }).length).toBe(4);
    mid.release();
    snap.release();
    await db.close();
  });
});
