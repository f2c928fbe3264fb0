/**
 * What replay does with the end of a WAL: a record cut short or zeros is a torn tail (cut, the
 * rest kept); a complete last record that fails its checksum was damaged after it was written,
 * possibly after it was acknowledged, so it is ErrCorruption rather than silently dropped.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/api/errors.js';
import { putU32, putU64 } from '../../src/codec/bytes.js';
import { MemoryFileSystem } from '../../src/fs/memory.js';
import { readBatchHeader, SAME_VERSION, walRecordFollows } from '../../src/wal/batch.js';
import { openMem, s } from '../helpers/db.js';

async function withWal(): Promise<{ fs: MemoryFileSystem; wal: string; size: number }> {
  const { db, fs } = await openMem();
  await db.put('a', '1', { sync: true });
  await db.put('b', '2', { sync: true });
  await db.close();
  const wal = fs.listAllSync().find((p) => p.endsWith('.wal'))!;
  return { fs, wal, size: fs.readFileSync(wal).length };
}

/**
 * Opens and closes the store: 'opened', or the error code it failed with. (Asserting a rejection
 * with `expect(open).rejects` prints the store it opened instead when it does open, and that
 * object graph exhausts the test's heap rather than failing it.)
 */
async function openOutcome(fs: MemoryFileSystem): Promise<string | undefined> {
  return openMem(fs).then(
    async ({ db }) => {
      await db.close();
      return 'opened';
    },
    (e: { code?: string }) => e.code,
  );
}

describe('WAL tail', () => {
  it('truncated trailing record is cut and earlier records kept', async () => {
    const { fs, wal, size } = await withWal();
    fs.truncateSync(wal, size - 3);
    const { db } = await openMem(fs);
    expect(s(db.getSync('a')!)).toBe('1');
    expect(db.getSync('b')).toBeUndefined();
    await db.put('c', '3');
    await db.close();
    const { db: again } = await openMem(fs);
    expect(s(again.getSync('c')!)).toBe('3');
    await again.close();
  });

  it('zeros after the last record are a torn tail', async () => {
    const { fs, wal, size } = await withWal();
    const data = fs.readFileSync(wal);
    const grown = new Uint8Array(size + 64);
    grown.set(data);
    fs.writeFileSync(wal, grown);
    const { db } = await openMem(fs);
    expect(s(db.getSync('b')!)).toBe('2');
    await db.close();
  });

  it('a complete last record with a flipped byte is corruption, not a tail to cut', async () => {
    const { fs, wal, size } = await withWal();
    fs.corruptByte(wal, size - 2, 0x01);
    expect(await openOutcome(fs)).toBe(ErrorCode.Corruption);
  });

  it('a damaged length field that makes the last record look cut short is still corruption', async () => {
    const { fs, wal, size } = await withWal();
    // The last record is 9 + 12 + entry bytes long; find its start by scanning back from the end.
    const data = fs.readFileSync(wal);
    let start = -1;
    for (let p = size - 10; p > 0; p--) {
      const len = data[p + 4]! | (data[p + 5]! << 8);
      if (p + 9 + len === size && data[p + 8] === 1) {
        start = p;
        break;
      }
    }
    expect(start).toBeGreaterThan(0);
    fs.corruptByte(wal, start + 5, 0x10); // length grows past the end of the file
    expect(await openOutcome(fs)).toBe(ErrorCode.Corruption);
  });

  it('a damaged length field in the second-last record, with the last one damaged or cut too, is corruption', async () => {
    // The corruption test's seed 378734359 found it: two flips (one in a record's length, one
    // in the record after it) read as a torn tail, and two acknowledged writes were cut.
    for (const damage of ['flip', 'cut'] as const) {
      const { fs, wal, size } = await withWal();
      const data = fs.readFileSync(wal);
      const starts = recordStarts(data);
      expect(starts.length).toBe(3); // header, put a, put b
      const [, second, last] = starts as [number, number, number];
      fs.corruptByte(wal, second + 5, 0x10); // the record of 'a' now runs past the end of the file
      if (damage === 'flip') fs.corruptByte(wal, size - 2, 0x01);
      else fs.truncateSync(wal, last + 12);
      expect(await openOutcome(fs), damage).toBe(ErrorCode.Corruption);
    }
  });

  it('a damaged length field in the second-last record, with the last one cut inside its header, is corruption', async () => {
    // The record after the damaged one keeps 1 to 8 bytes of its 9-byte header: there is no
    // type byte to recognise it by, yet 'a' was written whole and acknowledged.
    for (let kept = 1; kept < 9; kept++) {
      const { fs, wal } = await withWal();
      const data = fs.readFileSync(wal);
      const [, second, last] = recordStarts(data) as [number, number, number];
      fs.corruptByte(wal, second + 5, 0x10);
      fs.truncateSync(wal, last + kept);
      expect(await openOutcome(fs), `${kept} header bytes kept`).toBe(ErrorCode.Corruption);
    }
  });

  it('a record cut inside its header after valid ones is a torn tail', async () => {
    for (let kept = 0; kept < 9; kept++) {
      const { fs, wal } = await withWal();
      const [, , last] = recordStarts(fs.readFileSync(wal)) as [number, number, number];
      fs.truncateSync(wal, last + kept);
      const { db } = await openMem(fs);
      expect(s(db.getSync('a')!)).toBe('1');
      expect(db.getSync('b')).toBeUndefined();
      await db.close();
    }
  });

  it('in a tail over 64 KiB, a damaged length followed by a record cut inside its payload is corruption; the cut alone is a torn tail', async () => {
    // The cut record is recognised by its batch header (its versions follow the damaged
    // record's), so the search needs no pass per byte of the long tail.
    for (const damaged of [true, false]) {
      const { db, fs } = await openMem();
      await db.put('a', '1', { sync: true });
      await db.put('big', 'x'.repeat(100 * 1024), { sync: true });
      await db.close();
      const wal = fs.listAllSync().find((p) => p.endsWith('.wal'))!;
      const [, second, last] = recordStarts(fs.readFileSync(wal)) as [number, number, number];
      if (damaged) fs.corruptByte(wal, second + 6, 0x10); // the record of 'a' now runs 1 MiB past the end
      fs.truncateSync(wal, last + 9 + 80 * 1024); // 'big' cut 80 KiB into its payload
      if (damaged) {
        expect(await openOutcome(fs)).toBe(ErrorCode.Corruption);
        continue;
      }
      const { db: again } = await openMem(fs);
      expect(s(again.getSync('a')!)).toBe('1');
      expect(again.getSync('big')).toBeUndefined();
      await again.close();
    }
  });

  it('a record cut short after valid ones is still a torn tail, whatever its payload holds', async () => {
    const { fs, wal } = await withWal();
    const data = fs.readFileSync(wal);
    const [, , last] = recordStarts(data) as [number, number, number];
    // Cut inside the last record's payload: no shorter length can make it pass its checksum.
    for (const cut of [last + 9, last + 10, data.length - 1]) {
      const copy = fs.crashClone({ seed: 1, keepUnsynced: 'all' });
      copy.truncateSync(wal, cut);
      const { db } = await openMem(copy);
      expect(s(db.getSync('a')!)).toBe('1');
      expect(db.getSync('b')).toBeUndefined();
      await db.close();
    }
  });
});

/** Offsets of the records of a log file, walked by their (intact) length fields. */
function recordStarts(data: Uint8Array): number[] {
  const starts: number[] = [];
  for (let p = 0; p + 9 <= data.length; p += 9 + (data[p + 4]! | (data[p + 5]! << 8) | (data[p + 6]! << 16))) starts.push(p);
  return starts;
}

describe('WAL record succession (what the damaged-length search recognises a cut record by)', () => {
  /** A batch header at `at`: base, count (same-version flag), and for same-version batches `follows`. */
  function header(buf: Uint8Array, at: number, base: number, count: number, follows?: number): void {
    putU64(buf, at, base);
    putU32(buf, at + 8, follows === undefined ? count : (count | SAME_VERSION) >>> 0);
    if (follows !== undefined) putU64(buf, at + 12, follows);
  }

  it('a batch follows the last version of the one before it, whether its versions run on or were chosen', () => {
    const buf = new Uint8Array(64);
    header(buf, 0, 100, 5); // versions 100..104
    header(buf, 32, 105, 2);
    expect(walRecordFollows(buf, 0, 32, 64)).toBe(true);
    header(buf, 32, 106, 2); // a gap: not the next record
    expect(walRecordFollows(buf, 0, 32, 64)).toBe(false);
    header(buf, 32, 500, 3, 104); // committed at a chosen version, after 104
    expect(walRecordFollows(buf, 0, 32, 64)).toBe(true);
    header(buf, 0, 500, 3, 104); // ... and the batch after that one follows 500
    header(buf, 32, 501, 1);
    expect(walRecordFollows(buf, 0, 32, 64)).toBe(true);
  });

  it('a header cut short, or a same-version one following its own version, is not recognised', () => {
    const buf = new Uint8Array(64);
    header(buf, 0, 100, 5);
    header(buf, 32, 105, 2);
    expect(walRecordFollows(buf, 0, 32, 32 + 11)).toBe(false);
    expect(readBatchHeader(buf, 32, 32 + 12)?.follows).toBe(104);
    header(buf, 32, 200, 1, 200);
    expect(readBatchHeader(buf, 32, 64)).toBeUndefined();
    header(buf, 32, 200, 1, 104);
    expect(readBatchHeader(buf, 32, 32 + 19)).toBeUndefined();
  });
});
