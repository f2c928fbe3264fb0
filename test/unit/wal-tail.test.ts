/**
 * What replay does with the end of a WAL: a record cut short or zeros is a torn tail (cut, the
 * rest kept); a complete last record that fails its checksum was damaged after it was written,
 * possibly after it was acknowledged, so it is ErrCorruption rather than silently dropped.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/api/errors.js';
import { MemoryFileSystem } from '../../src/fs/memory.js';
import { openMem, s } from '../helpers/db.js';

async function withWal(): Promise<{ fs: MemoryFileSystem; wal: string; size: number }> {
  const { db, fs } = await openMem();
  await db.put('a', '1', { sync: true });
  await db.put('b', '2', { sync: true });
  await db.close();
  const wal = fs.listAllSync().find((p) => p.endsWith('.wal'))!;
  return { fs, wal, size: fs.readFileSync(wal).length };
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
    await expect(openMem(fs)).rejects.toMatchObject({ code: ErrorCode.Corruption });
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
    await expect(openMem(fs)).rejects.toMatchObject({ code: ErrorCode.Corruption });
  });
});
