/**
 * The bank test across real process crashes: `sett bank --sync` runs in a child process on one
 * directory and is killed with SIGKILL at a random moment, several rounds in a row; after each,
 * the parent reopens the directory and checks every balance and the total. Each round's child
 * first checks the accounts the previous one left, then goes on transferring.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { open } from '../../src/index.js';
import { checkBank } from '../../src/txn/bank.js';

const dir = mkdtempSync(join(tmpdir(), 'sett-bank-kill-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runAndKill(killAfterMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const args = ['--import', 'tsx', 'src/cli/main.ts', 'bank', '--dir', dir, '--accounts', '20', '--concurrency', '8', '--seconds', '60', '--sync'];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      out += d;
      if (timer === undefined && out.includes('bank: running')) timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') resolve();
      else reject(new Error(`bank child exited with ${code}: ${out}${err}`));
    });
  });
}

describe('bank test across SIGKILL', () => {
  it('the total holds after every kill', async () => {
    const seed = Number(process.env.SETT_SEED ?? Date.now() % 1e9);
    for (let round = 0; round < 3; round++) {
      await runAndKill(200 + ((seed + round * 337) % 600));
      const db = await open({ path: dir, compactionWorkers: 0 });
      expect(await db.view((t) => checkBank(t, 20, 20_000, round % 2 === 0)), `round ${round}, seed ${seed}`).toBe(20_000);
      // Money moved before the kill (the accounts are no longer all equal).
      const balances = new Set(db.iterator({ prefix: 'bank/' }).allSync().map(([, v]) => Buffer.from(v).toString()));
      expect(balances.size).toBeGreaterThan(1);
      await db.close();
    }
  });
});
