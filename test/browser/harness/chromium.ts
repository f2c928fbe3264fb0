/**
 * Launching Debian's Chromium through playwright-core with a persistent profile (a real
 * on-disk profile: OPFS data lands in it and survives a restart; an incognito context would keep
 * OPFS in memory and prove nothing), and killing it the hard way for crash tests.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { chromium, type BrowserContext } from 'playwright-core';

/** Flags that work on this machine (as root, no GPU, no network but loopback). */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function chromiumPath(): string {
  return process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
}

export async function launch(profileDir: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profileDir, {
    executablePath: chromiumPath(),
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1100, height: 760 },
  });
}

/**
 * The pid of the browser process using `profileDir` (the main process: no `--type=`), found in
 * /proc. Playwright starts it as the leader of its own process group.
 */
export function browserPid(profileDir: string): number {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let cmd: string[];
    try {
      cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (cmd.some((a) => a === `--user-data-dir=${profileDir}`) && !cmd.some((a) => a.startsWith('--type='))) return Number(name);
  }
  throw new Error(`no browser process found for profile ${profileDir}`);
}

/** SIGKILL to the browser's process group: the browser, its renderers and utilities, at once. */
export function killBrowser(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    process.kill(pid, 'SIGKILL');
  }
}
