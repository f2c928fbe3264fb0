/**
 * `npm run demo`: builds the demo (demo/) into a temporary directory and serves it on
 * http://127.0.0.1:5173 (a secure context, so OPFS works). Open the URL in Chromium, Edge,
 * Firefox or Safari; the data stays in that browser profile. Ctrl-C stops the server.
 *
 *   npm run demo [-- --port N] [--screenshot FILE]
 *
 * With --screenshot, it instead opens the page in headless Chromium (CHROMIUM_PATH or
 * /usr/bin/chromium), adds the sample data, scans the prefix "fruit:", saves a PNG and exits.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildDemo } from '../demo/build.js';
import { serveStatic } from '../test/browser/harness/server.js';

const { values } = parseArgs({ options: { port: { type: 'string', default: process.env.PORT ?? '5173' }, screenshot: { type: 'string' } } });
const out = mkdtempSync(join(tmpdir(), 'sett-demo-'));
await buildDemo(out);

if (values.screenshot !== undefined) {
  const { launch } = await import('../test/browser/harness/chromium.js');
  const server = await serveStatic(out, 0);
  const profile = mkdtempSync(join(tmpdir(), 'sett-demo-profile-'));
  const ctx = await launch(profile);
  try {
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    await page.goto(`${server.url}/index.html`);
    await page.waitForSelector('#status[data-state="open"]');
    await page.click('#sample');
    await page.waitForSelector('#log li:has-text("sample")');
    await page.fill('#prefix', 'fruit:');
    await page.click('#scan');
    await page.waitForSelector('#results tr[data-key]');
    await page.screenshot({ path: resolve(values.screenshot), fullPage: true });
    console.log(`screenshot: ${resolve(values.screenshot)}`);
  } finally {
    await ctx.close();
    await server.close();
    rmSync(profile, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  }
} else {
  const server = await serveStatic(out, Number(values.port));
  console.log(`sett demo: ${server.url}/  (built in ${out}; Ctrl-C to stop)`);
  const stop = (): void => {
    void server.close().then(() => {
      rmSync(out, { recursive: true, force: true });
      process.exit(0);
    });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
