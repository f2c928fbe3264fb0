/**
 * LogWriter's sync accounting: each sync covers what was appended before it started, so the
 * writer records how far a finished sync reaches by offset. Counting bytes instead would let two
 * syncs that overlap (one finishing after the other started) claim more than they covered.
 */
import { describe, expect, it } from 'vitest';
import type { FileHandle } from '../../src/fs/types.js';
import { LogWriter } from '../../src/wal/writer.js';

/** A file whose async syncs finish when the test calls the resolver pushed to `pending`. */
function fileWithSyncs(pending: (() => void)[]): FileHandle {
  let written = 0;
  return {
    writeAt: (b: Uint8Array) => {
      written += b.length;
      return b.length;
    },
    truncate: () => undefined,
    sync: () => undefined,
    syncAsync: () => new Promise<void>((resolve) => pending.push(resolve)),
    size: () => written,
    close: () => undefined,
  } as unknown as FileHandle;
}

describe('LogWriter sync accounting', () => {
  it('overlapping syncs: each covers what was appended before it started, whichever finishes first', async () => {
    const pending: (() => void)[] = [];
    const w = LogWriter.forWal(fileWithSyncs(pending), 1);
    w.sync();
    expect(w.unsyncedBytes).toBe(0);
    w.append(new Uint8Array(100));
    const first = w.syncAsync(); // covers the first 100
    w.append(new Uint8Array(50));
    const second = w.syncAsync(); // covers 150
    w.append(new Uint8Array(30)); // covered by neither
    expect(w.unsyncedBytes).toBe(180);
    // The later sync finishes first: only the last 30 bytes stay unsynced...
    pending[1]!();
    await second;
    expect(w.unsyncedBytes).toBe(30);
    // ...and the earlier one finishing afterwards changes nothing (counting bytes would have
    // subtracted its 100 again and claimed everything synced).
    pending[0]!();
    await first;
    expect(w.unsyncedBytes).toBe(30);
  });

  it('a sync covers appends made before it, not during it', async () => {
    const pending: (() => void)[] = [];
    const w = LogWriter.forWal(fileWithSyncs(pending), 2);
    w.append(new Uint8Array(10));
    const before = w.unsyncedBytes;
    const s = w.syncAsync();
    w.append(new Uint8Array(7));
    pending[0]!();
    await s;
    expect(before).toBeGreaterThan(10);
    expect(w.unsyncedBytes).toBe(7);
  });
});
