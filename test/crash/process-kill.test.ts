/**
 * Real process crash: a child writes with sync on and reports each acknowledged write on
 * stdout; the parent kills it with SIGKILL at a random moment, reopens the directory and
 * checks that every acknowledged write is there with its value, that batches are whole, and
 * that nothing that was never written appears. Several rounds on one directory, so recovery of
 * a recovered database is covered too.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bytesEqual, fromUtf8 } from '../../src/codec/bytes.js';
import { Prng } from '../../src/fs/prng.js';
import { open } from '../../src/index.js';
import { figures } from '../helpers/figures.js';
import { crashKey, crashValue, parseCrashKey } from './crash-values.js';

const ROUNDS = Number(process.env.SETT_CRASH_ROUNDS ?? 8);
const dir = mkdtempSync(join(tmpdir(), 'sett-kill-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Acks {
  acked: Map<number, boolean>; // i -> was a batch
  maxStarted: number;
}

function runChild(round: number, killAfterMs: number): Promise<Acks> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/crash/child-writer.ts', dir, String(round), '8'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acks: Acks = { acked: new Map(), maxStarted: -1 };
    let buf = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line === 'ready') timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        const m = /^ack (\d+) (\d+)( batch)?$/.exec(line);
        if (m !== null) acks.acked.set(Number(m[2]), m[3] !== undefined);
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`child exited with ${code}: ${stderr}`));
      else resolve(acks);
    });
  });
}

describe('real process crash (SIGKILL) with sync writes', () => {
  it(`keeps every acknowledged write over ${ROUNDS} kill rounds`, async () => {
    const rng = new Prng(Number(process.env.SETT_CRASH_SEED ?? Date.now() % 1e9));
    let totalAcked = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const acks = await runChild(round, 100 + rng.nextInt(600));
      totalAcked += acks.acked.size;
      const db = await open({ path: dir, memtableSize: 64 * 1024 });
      try {
        for (const [i, batch] of acks.acked) {
          for (let part = 0; part < (batch ? 3 : 1); part++) {
            const v = db.getSync(crashKey(round, i, part));
            expect(v, `round ${round} key ${i}/${part} was acknowledged but is missing`).toBeDefined();
            expect(bytesEqual(v!, crashValue(round, i, part)), `round ${round} key ${i}/${part} has a wrong value`).toBe(true);
          }
        }
        // Nothing unexpected: every key present was written by some round, with its value, and batches are whole.
        let present = 0;
        for (const [k, v] of db.iterator()) {
          const p = parseCrashKey(fromUtf8(k));
          expect(p, `unexpected key ${fromUtf8(k)}`).toBeDefined();
          expect(p!.round).toBeLessThanOrEqual(round);
          expect(bytesEqual(v, crashValue(p!.round, p!.i, p!.part))).toBe(true);
          if (p!.i % 5 === 4) {
            for (let part = 0; part < 3; part++) expect(db.hasSync(crashKey(p!.round, p!.i, part)), `batch ${p!.round}/${p!.i} is half applied`).toBe(true);
          }
          present++;
        }
        expect(present).toBeGreaterThanOrEqual(acks.acked.size);
        expect((await db.verify()).problems).toEqual([]);
      } finally {
        await db.close();
      }
    }
    console.log(`real crash test: ${ROUNDS} SIGKILL rounds, ${totalAcked} acknowledged synced writes checked, 0 lost`);
    figures.add('seeds run', 1);
    figures.add('crash points recovered', ROUNDS);
    figures.add('operations checked', totalAcked);
    expect(totalAcked).toBeGreaterThan(0);
  }, 180_000);
});
