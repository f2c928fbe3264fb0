/**
 * A tiny test runtime for code that runs in Chromium (vitest does not run there). Test files
 * (`test/browser/*.browser.ts`) register tests with `test('worker' | 'page', name, fn)` and
 * procedures (steps of a multi-launch scenario driven from Node) with `procedure(...)`.
 *
 * One bundle (tests.js) holds every test file. On the page it exposes `window.settTests`; it
 * also starts itself as a module worker, where the 'worker' tests and procedures run (OPFS sync
 * access handles exist only in workers). run.ts calls `settTests.run(name)` for each test.
 */

export type Where = 'page' | 'worker';
type Fn = () => Promise<void> | void;
type Proc = (args: unknown) => Promise<unknown> | unknown;

interface TestDef {
  name: string;
  where: Where;
  fn: Fn;
}

const tests: TestDef[] = [];
const procedures = new Map<string, { where: Where; fn: Proc }>();

export function test(where: Where, name: string, fn: Fn): void {
  if (tests.some((t) => t.name === name)) throw new Error(`duplicate browser test name: ${name}`);
  tests.push({ name, where, fn });
}

export function procedure(where: Where, name: string, fn: Proc): void {
  procedures.set(name, { where, fn });
}

// ---------------------------------------------------------------------------------------------
// Assertions

export class AssertionError extends Error {
  override name = 'AssertionError';
}

export function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new AssertionError(message);
}

export function show(v: unknown): string {
  if (v instanceof Uint8Array) {
    let printable = true;
    for (const b of v) if (b < 0x20 || b > 0x7e) printable = false;
    return printable ? `"${new TextDecoder().decode(v)}"` : `0x${[...v].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
  }
  if (Array.isArray(v)) return `[${v.map(show).join(', ')}]`;
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return JSON.stringify(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object' && !(a instanceof Uint8Array) && !(b instanceof Uint8Array)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return false;
}

export function eq(actual: unknown, expected: unknown, what: string): void {
  if (!deepEqual(actual, expected)) throw new AssertionError(`${what}: expected ${show(expected)}, got ${show(actual)}`);
}

/** Awaits `p`, expecting a rejection whose `code` is `code` (or an instance of a class named `code`). */
export async function rejects(p: Promise<unknown> | (() => unknown), code: string, what: string): Promise<Error> {
  let result: unknown;
  try {
    result = typeof p === 'function' ? await p() : await p;
  } catch (e) {
    const err = e as Error & { code?: unknown };
    if (err?.code === code || err?.name === code || (err as { constructor?: { name?: string } })?.constructor?.name === code) return err;
    throw new AssertionError(`${what}: expected ${code}, got ${err?.name}${err?.code === undefined ? '' : ` (${String(err.code)})`}: ${err?.message}`);
  }
  throw new AssertionError(`${what}: expected ${code}, but it resolved ${show(result)}`);
}

// ---------------------------------------------------------------------------------------------
// Runtime

export interface RunResult {
  ok: boolean;
  error?: string;
  ms: number;
  value?: unknown;
}

function describeError(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    const head = `${e.name}: ${e.message}`;
    const stack = (e.stack ?? '').startsWith(head) ? (e.stack ?? '').slice(head.length) : `\n${(e.stack ?? '').split('\n').slice(1).join('\n')}`;
    return `${e.name}${code === undefined ? '' : ` [${String(code)}]`}: ${e.message}${stack.split('\n').slice(0, 8).join('\n')}`;
  }
  return String(e);
}

async function runLocal(kind: 'test' | 'procedure', name: string, args: unknown): Promise<RunResult> {
  const t0 = performance.now();
  try {
    let value: unknown;
    if (kind === 'test') {
      const t = tests.find((x) => x.name === name);
      if (t === undefined) throw new Error(`no test named ${name}`);
      await t.fn();
    } else {
      const p = procedures.get(name);
      if (p === undefined) throw new Error(`no procedure named ${name}`);
      value = await p.fn(args);
    }
    return { ok: true, ms: performance.now() - t0, value };
  } catch (e) {
    return { ok: false, error: describeError(e), ms: performance.now() - t0 };
  }
}

interface WorkerRequest {
  seq: number;
  kind: 'test' | 'procedure';
  name: string;
  args: unknown;
}

let testWorker: Worker | undefined;
let seq = 0;
const waiting = new Map<number, (r: RunResult) => void>();

function workerRun(kind: 'test' | 'procedure', name: string, args: unknown): Promise<RunResult> {
  if (testWorker === undefined) {
    testWorker = new Worker(new URL(`${import.meta.url.split('?')[0]!}${location.search}`), { type: 'module', name: 'sett tests' });
    testWorker.onmessage = (e: MessageEvent) => {
      const { seq: s, result } = e.data as { seq: number; result: RunResult };
      waiting.get(s)?.(result);
      waiting.delete(s);
    };
    testWorker.onerror = (e) => {
      for (const [s, done] of waiting) {
        done({ ok: false, error: `test worker error: ${e.message}`, ms: 0 });
        waiting.delete(s);
      }
    };
  }
  const s = ++seq;
  return new Promise((resolve) => {
    waiting.set(s, resolve);
    testWorker!.postMessage({ seq: s, kind, name, args } satisfies WorkerRequest);
  });
}

/** What the page exposes to run.ts. */
export interface SettTests {
  list(): { name: string; where: Where }[];
  run(name: string): Promise<RunResult>;
  call(name: string, args?: unknown): Promise<RunResult>;
}

export function startRuntime(): void {
  const isWorker = typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== 'undefined' && typeof (globalThis as { document?: unknown }).document === 'undefined';
  if (isWorker) {
    globalThis.addEventListener('message', (e: Event) => {
      const req = (e as MessageEvent).data as WorkerRequest;
      if (req === null || typeof req !== 'object' || typeof req.seq !== 'number') return;
      void runLocal(req.kind, req.name, req.args).then((result) => (globalThis as unknown as Worker).postMessage({ seq: req.seq, result }));
    });
    return;
  }
  const api: SettTests = {
    list: () => tests.map((t) => ({ name: t.name, where: t.where })),
    run: (name) => {
      const t = tests.find((x) => x.name === name);
      if (t === undefined) return Promise.resolve({ ok: false, error: `no test named ${name}`, ms: 0 });
      return t.where === 'worker' ? workerRun('test', name, undefined) : runLocal('test', name, undefined);
    },
    call: (name, args) => {
      const p = procedures.get(name);
      if (p === undefined) return Promise.resolve({ ok: false, error: `no procedure named ${name}`, ms: 0 });
      return p.where === 'worker' ? workerRun('procedure', name, args) : runLocal('procedure', name, args);
    },
  };
  (globalThis as unknown as { settTests: SettTests }).settTests = api;
}

// ---------------------------------------------------------------------------------------------
// Helpers shared by test files

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : new TextDecoder().decode(b));

/** A query parameter of the test page (the test worker gets the page's query too). */
export function param(name: string): string | undefined {
  return new URLSearchParams(location.search).get(name) ?? undefined;
}

/** The run's base seed (run.ts passes it as ?seed=). */
export function baseSeed(): number {
  const s = Number(param('seed'));
  return Number.isInteger(s) ? s : 1;
}

/** A directory name unique to this run, so tests never see each other's (or old) files. */
export function uniqueDir(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e9).toString(36)}`;
}

/** Removes an OPFS directory tree (best effort). */
export async function removeOpfsDir(name: string): Promise<void> {
  const root = await navigator.storage.getDirectory();
  await root.removeEntry(name, { recursive: true }).catch(() => undefined);
}
