/**
 * Browser tests that need the browser itself driven from Node: restarts on the same profile,
 * SIGKILL of the whole browser during synced writes, two tabs, the origin's storage quota,
 * formats compared with Node's, and a screenshot of the demo page.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { MemoryFileSystem } from '../../src/fs/memory.js';
import { open } from '../../src/index.js';
import { ROOT } from '../../scripts/build-browser.js';
import { browserPid, killBrowser } from './harness/chromium.js';
import { formatExpected, readAllStrings, runFormatScript } from './lib/format-script.js';
import type { RunResult, SettTests } from './lib/t.js';

export interface ScenarioEnv {
  url: string;
  seed: number;
  newProfile(): string;
  launch(profileDir: string): Promise<BrowserContext>;
  /** Opens the test page in `page` (default: the context's first tab), with `hash` in its URL. */
  openTestPage(ctx: BrowserContext, url: string, page?: Page, hash?: string): Promise<Page>;
}

export interface Scenario {
  name: string;
  timeoutMs?: number;
  run(env: ScenarioEnv): Promise<void>;
}

function check(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

async function call<T>(page: Page, name: string, args: unknown): Promise<T> {
  const r: RunResult = await page.evaluate(([n, a]) => (globalThis as unknown as { settTests: SettTests }).settTests.call(n as string, a), [name, args] as const);
  if (!r.ok) throw new Error(`${name}: ${r.error}`);
  return r.value as T;
}

/** A random integer in [lo, hi) from the run's seed, so a failing kill point reproduces. */
function seeded(seed: number, salt: number, lo: number, hi: number): number {
  const x = Math.imul(seed ^ Math.imul(salt, 0x9e3779b1), 0x85ebca6b) >>> 0;
  return lo + (x % (hi - lo));
}

const persistence: Scenario = {
  name: 'data survives a browser restart on the same profile (and a fresh profile has none)',
  async run(env) {
    const profile = env.newProfile();
    let ctx = await env.launch(profile);
    let page = await env.openTestPage(ctx, env.url);
    const w = await call<{ tables: number }>(page, 'persist:write', { dir: 'persist-db' });
    check(w.tables > 0, 'the write step flushed tables');
    await ctx.close(); // a clean browser exit; the second database was never closed
    ctx = await env.launch(profile);
    try {
      page = await env.openTestPage(ctx, env.url);
      const r = await call<{ count: number; expected: number; firstBad: unknown; verifyOk: boolean; leftOpen: number }>(page, 'persist:check', { dir: 'persist-db' });
      check(r.firstBad === undefined, `after restart: ${r.count} of ${r.expected} entries, first difference ${JSON.stringify(r.firstBad)}`);
      check(r.verifyOk, 'verify after restart');
      check(r.leftOpen === 100, `the database left open at exit has ${r.leftOpen} of its 100 unsynced writes`);
    } finally {
      await ctx.close();
    }
    const fresh = await env.launch(env.newProfile());
    try {
      const p = await env.openTestPage(fresh, env.url);
      const r = await call<{ missing: string }>(p, 'persist:check', { dir: 'persist-db', expectMissing: true });
      check(r.missing === 'ErrInvalidConfig', `a fresh profile must not have the database (got ${r.missing})`);
    } finally {
      await fresh.close();
    }
  },
};

const sigkill: Scenario = {
  name: 'SIGKILL of the browser during synced writes loses no acknowledged write (2 rounds)',
  timeoutMs: 120_000,
  async run(env) {
    const profile = env.newProfile();
    const dir = 'crash-db';
    const acked: [number, number, boolean][] = [];
    for (let round = 0; round < 2; round++) {
      const ctx = await env.launch(profile);
      const page = await env.openTestPage(ctx, env.url);
      const pid = browserPid(profile);
      let ackedThisRound = 0;
      let ready!: () => void;
      const isReady = new Promise<void>((r) => (ready = r));
      await page.exposeFunction('__settReady', () => ready());
      await page.exposeFunction('__settAck', (i: number, batch: boolean) => {
        acked.push([round, i, batch]);
        ackedThisRound++;
      });
      const writing = call(page, 'crash:write', { dir, round, writers: 8 }).catch(() => undefined);
      await isReady;
      const killAfter = seeded(env.seed, round, 400, 1400);
      await new Promise((r) => setTimeout(r, killAfter));
      killBrowser(pid);
      await writing;
      await ctx.close().catch(() => undefined);
      check(ackedThisRound > 20, `round ${round}: only ${ackedThisRound} writes acknowledged before the kill at ${killAfter} ms`);
      const after = await env.launch(profile);
      try {
        const p = await env.openTestPage(after, env.url);
        const r = await call<{ checked: number; missingCount: number; missing: string[]; torn: string[]; damaged: string[]; verifyOk: boolean; entries: number }>(p, 'crash:check', { dir, acked });
        check(r.missingCount === 0, `round ${round} (kill at ${killAfter} ms): ${r.missingCount} acknowledged writes lost, e.g. ${r.missing.join(', ')}`);
        check(r.torn.length === 0, `round ${round}: batches applied in part: ${r.torn.join(', ')}`);
        check(r.damaged.length === 0, `round ${round}: damaged values: ${r.damaged.join(', ')}`);
        check(r.verifyOk, `round ${round}: verify found damage after recovery`);
        console.log(`      round ${round}: killed after ${killAfter} ms, ${ackedThisRound} acknowledged writes this round, ${r.entries} entries after recovery`);
      } finally {
        await after.close();
      }
    }
  },
};

const tabs: Scenario = {
  name: 'two tabs: the second opener gets ErrLocked until the first tab closes',
  async run(env) {
    const ctx = await env.launch(env.newProfile());
    try {
      const a = await env.openTestPage(ctx, env.url, undefined, 'tab-a');
      const b = await env.openTestPage(ctx, env.url, await ctx.newPage(), 'tab-b');
      const first = await call<{ ok: boolean }>(a, 'tabs:open', { dir: 'tabs-db' });
      check(first.ok, 'the first tab opens the database');
      const second = await call<{ ok: boolean; code?: string; message?: string }>(b, 'tabs:open', { dir: 'tabs-db' });
      check(!second.ok && second.code === 'ErrLocked', `the second tab gets ErrLocked, got ${JSON.stringify(second)}`);
      check(/another tab or worker/.test(second.message ?? ''), `the message says why: ${second.message}`);
      await a.close(); // the tab's worker dies; the browser releases its lock and files
      let reopened: { ok: boolean; code?: string } = { ok: false };
      for (let i = 0; i < 20 && !reopened.ok; i++) {
        reopened = await call(b, 'tabs:open', { dir: 'tabs-db' });
        if (!reopened.ok) await new Promise((r) => setTimeout(r, 100));
      }
      check(reopened.ok, `the second tab opens once the first is gone: ${JSON.stringify(reopened)}`);
      check((await call<string>(b, 'tabs:read', { key: 'written-by' })) === '#tab-b', 'the second tab writes');
    } finally {
      await ctx.close();
    }
  },
};

const quota: Scenario = {
  name: 'the origin running out of OPFS quota is ErrInsufficientDiskSpace; acknowledged writes survive',
  async run(env) {
    const ctx = await env.launch(env.newProfile());
    try {
      const page = await env.openTestPage(ctx, env.url);
      const cdp = await ctx.newCDPSession(page);
      await cdp.send('Storage.overrideQuotaForOrigin', { origin: env.url, quotaSize: 6 * 1024 * 1024 });
      const r = await call<{ acked: number; error?: { name: string; code?: string; message: string; causes: string[] }; readable: number; sampled: number }>(page, 'quota:fill', { dir: 'quota-db' });
      check(r.error !== undefined, `writes never hit the quota (${r.acked} acknowledged)`);
      const codes = [r.error.code, ...r.error.causes];
      check(
        r.error.code === 'ErrInsufficientDiskSpace' || codes.some((c) => c?.includes('ErrInsufficientDiskSpace') || c?.includes('ENOSPC')),
        `the quota error is reported as disk full: ${JSON.stringify(r.error)}`,
      );
      check(r.readable === r.sampled, `acknowledged writes read back after the error: ${r.readable} of ${r.sampled}`);
      check(r.acked > 50, `some writes succeeded first (${r.acked})`);
      await cdp.send('Storage.overrideQuotaForOrigin', { origin: env.url });
      const c = await call<{ missing: number }>(page, 'quota:check', { dir: 'quota-db', acked: r.acked });
      check(c.missing === 0, `${c.missing} of ${r.acked} acknowledged writes missing after reopening with quota back`);
      console.log(`      quota hit after ${r.acked} writes of 16 KiB: ${r.error.code} (${r.error.causes.join(' ← ') || 'no cause'})`);
    } finally {
      await ctx.close();
    }
  },
};

const formats: Scenario = {
  name: 'formats: Chromium writes the same bytes as Node, and each reads the other’s files',
  async run(env) {
    const nodeFs = new MemoryFileSystem();
    await runFormatScript(open, nodeFs, '/db');
    const nodeFiles = Object.fromEntries(nodeFs.listAllSync().map((p) => [p.slice('/db/'.length), nodeFs.readFileSync(p)]));
    const ctx = await env.launch(env.newProfile());
    try {
      const page = await env.openTestPage(ctx, env.url);
      const browserFiles = await call<Record<string, string>>(page, 'formats:write', { dir: 'formats-browser' });
      const names = Object.keys(browserFiles).sort();
      check(JSON.stringify(names) === JSON.stringify(Object.keys(nodeFiles).sort()), `file names differ: browser ${names.join(',')} node ${Object.keys(nodeFiles).sort().join(',')}`);
      for (const name of names) {
        const b = Buffer.from(browserFiles[name]!, 'base64');
        const n = Buffer.from(nodeFiles[name]!);
        check(b.equals(n), `${name}: browser and Node bytes differ (${b.length} vs ${n.length} bytes, sha1 ${createHash('sha1').update(b).digest('hex').slice(0, 8)} vs ${createHash('sha1').update(n).digest('hex').slice(0, 8)})`);
      }
      // Node reads the browser's files...
      const fromBrowser = new MemoryFileSystem();
      for (const name of names) fromBrowser.writeFileSync(`/db/${name}`, new Uint8Array(Buffer.from(browserFiles[name]!, 'base64')));
      const db = await open({ path: '/db', fs: fromBrowser, readOnly: true });
      const got = await readAllStrings(db);
      await db.close();
      check(JSON.stringify(got) === JSON.stringify(formatExpected()), 'Node reads the browser-written database');
      // ...and the browser reads Node's.
      const files = Object.fromEntries(Object.entries(nodeFiles).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
      const r = await call<{ same: boolean; count: number; expected: number; verifyOk: boolean }>(page, 'formats:read', { dir: 'formats-node', files });
      check(r.same && r.verifyOk, `the browser reads Node's database: ${JSON.stringify(r)}`);
      console.log(`      ${names.length} files byte-identical (${names.join(', ')})`);
    } finally {
      await ctx.close();
    }
  },
};

const demo: Scenario = {
  name: 'demo page: a scripted put, get and prefix scan, checked on screen and in a screenshot',
  async run(env) {
    const ctx = await env.launch(env.newProfile());
    try {
      const page = ctx.pages()[0] ?? (await ctx.newPage());
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${env.url}/demo/index.html`);
      await page.waitForSelector('#status[data-state="open"]', { timeout: 15_000 });
      await page.click('#sample');
      await page.waitForSelector('#log li:has-text("sample")');
      await page.fill('#key', 'fruit:apple');
      await page.fill('#value', 'red and crisp');
      await page.click('#put');
      await page.waitForSelector('#log li:has-text("put fruit:apple")');
      await page.fill('#key', 'fruit:zucchini?');
      await page.fill('#value', 'not a fruit');
      await page.click('#put');
      await page.waitForSelector('#log li:has-text("put fruit:zucchini?")');
      await page.click('#delete');
      await page.waitForSelector('#log li:has-text("delete fruit:zucchini?")');
      await page.fill('#key', 'fruit:apple');
      await page.click('#get');
      await page.waitForSelector('#log li:has-text("get fruit:apple = red and crisp")');
      await page.fill('#prefix', 'fruit:');
      await page.click('#scan');
      await page.waitForSelector('#results tr[data-key="fruit:banana"]');
      check((await page.$('#results tr[data-key="fruit:zucchini?"]')) === null, 'the deleted key is not in the scan');
      const rows = await page.$$eval('#results tr[data-key]', (trs) => trs.map((tr) => tr.getAttribute('data-key')));
      check(rows.every((k) => k?.startsWith('fruit:')), `the scan shows only the prefix: ${rows.join(', ')}`);
      check(rows.includes('fruit:apple') && rows.includes('fruit:banana'), `the scan shows the written keys: ${rows.join(', ')}`);
      await page.click('#flush');
      await page.waitForSelector('#log li:has-text("flush:")');
      await page.waitForFunction(() => Number(document.querySelector('#stat-tables')?.textContent) > 0, undefined, { timeout: 10_000 });
      const tables = await page.$eval('#stat-tables', (e) => Number(e.textContent));
      check(tables >= 1, `stats show the flushed table (${tables})`);
      const dir = join(ROOT, 'test/browser/artifacts');
      mkdirSync(dir, { recursive: true });
      const shot = join(dir, 'demo.png');
      const png = await page.screenshot({ path: shot, fullPage: true });
      check(png.length > 20_000 && existsSync(shot) && statSync(shot).size === png.length, `screenshot written (${png.length} bytes)`);
      // The screenshot shows the page, not a blank: count the distinct colors in its raw pixels.
      const pixels = await page.evaluate(async (b64) => {
        const img = new Image();
        img.src = `data:image/png;base64,${b64}`;
        await img.decode();
        const c = new OffscreenCanvas(img.width, img.height);
        const g = c.getContext('2d')!;
        g.drawImage(img, 0, 0);
        const d = g.getImageData(0, 0, img.width, img.height).data;
        const colors = new Set<number>();
        for (let i = 0; i < d.length; i += 16) colors.add((d[i]! << 16) | (d[i + 1]! << 8) | d[i + 2]!);
        return { w: img.width, h: img.height, colors: colors.size };
      }, png.toString('base64'));
      check(pixels.colors > 20, `the screenshot has content (${pixels.colors} colors)`);
      check(errors.length === 0, `page errors: ${errors.join('; ')}`);
      console.log(`      screenshot ${pixels.w}×${pixels.h}, ${rows.length} rows for 'fruit:', saved to test/browser/artifacts/demo.png`);
    } finally {
      await ctx.close();
    }
  },
};

export const scenarios: Scenario[] = [persistence, sigkill, tabs, quota, formats, demo];
