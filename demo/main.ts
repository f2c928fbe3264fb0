/**
 * The demo page: a key browser over a sett database in OPFS. The engine runs in a dedicated
 * worker (sett-worker.js, served next to this page); the page talks to it through the
 * `RemoteDB` proxy that `openInWorker` returns.
 */
import { openInWorker, type RemoteDB } from '../src/browser.js';
import type { DBStats } from '../src/api/stats.js';

const DB_PATH = 'sett-demo';
const te = new TextEncoder();
const td = new TextDecoder();

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`#${id} missing`);
  return el as T;
};

let db: RemoteDB | undefined;

function setStatus(state: 'opening' | 'open' | 'error', text: string): void {
  const s = $('status');
  s.dataset.state = state;
  s.textContent = text;
}

function log(text: string, ms?: number, error = false): void {
  const li = document.createElement('li');
  li.textContent = text;
  if (ms !== undefined) {
    const span = document.createElement('span');
    span.className = 'ms';
    span.textContent = ` (${ms < 1 ? ms.toFixed(2) : ms.toFixed(1)} ms)`;
    li.append(span);
  }
  if (error) li.className = 'error';
  const list = $('log');
  list.prepend(li);
  while (list.children.length > 60) list.lastElementChild?.remove();
}

function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(2)} MiB`;
}

function showValue(v: Uint8Array): string {
  const s = td.decode(v);
  return s.length > 80 ? `${s.slice(0, 80)}…` : s;
}

/** Runs an action with timing and error reporting; disables the buttons meanwhile. */
async function act(name: string, fn: (db: RemoteDB) => Promise<string | undefined>): Promise<void> {
  if (db === undefined) return;
  const buttons = document.querySelectorAll('button');
  buttons.forEach((b) => (b.disabled = true));
  const t0 = performance.now();
  try {
    const text = await fn(db);
    log(text ?? name, performance.now() - t0);
  } catch (e) {
    const err = e as Error & { code?: string };
    log(`${name}: ${err.code ?? err.name}: ${err.message}`, undefined, true);
  } finally {
    buttons.forEach((b) => (b.disabled = false));
    await refreshStats();
  }
}

async function refreshStats(): Promise<void> {
  if (db === undefined || db.closed) return;
  let s: DBStats;
  try {
    s = await db.stats();
  } catch {
    return;
  }
  const m = s.memtables.active;
  $('mem-fill').style.width = `${Math.min(100, (m.bytes / m.capacity) * 100).toFixed(1)}%`;
  $('mem-text').textContent = `memtable: ${m.entries} entries, ${fmtBytes(m.bytes)} of ${fmtBytes(m.capacity)}${s.memtables.immutable > 0 ? `, ${s.memtables.immutable} waiting for flush` : ''}`;
  const body = $('levels').querySelector('tbody')!;
  body.replaceChildren(
    ...s.levels.map((l) => {
      const tr = document.createElement('tr');
      tr.dataset.level = String(l.level);
      if (l.tables === 0) tr.className = 'empty';
      for (const text of [`L${l.level}`, String(l.tables), fmtBytes(l.bytes), String(l.entries)]) {
        const td = document.createElement('td');
        td.textContent = text;
        tr.append(td);
      }
      return tr;
    }),
  );
  $('stat-tables').textContent = String(s.tables);
  $('stat-version').textContent = String(s.lastVersion);
  $('stat-writes').textContent = String(s.counters.writes);
  $('stat-syncs').textContent = String(s.counters.walSyncs);
  $('stat-flushes').textContent = String(s.counters.flushes);
  const c = s.blockCache;
  $('stat-cache').textContent = `${c.hits} hits / ${c.misses} misses`;
}

function keyInput(): string {
  const k = $<HTMLInputElement>('key').value;
  if (k.length === 0) throw Object.assign(new Error('type a key first'), { code: 'ErrInvalidKey' });
  return k;
}

async function scan(): Promise<void> {
  await act('scan', async (d) => {
    const prefix = $<HTMLInputElement>('prefix').value;
    const limit = Math.max(1, Math.min(10_000, Number($<HTMLInputElement>('limit').value) || 100));
    const reverse = $<HTMLInputElement>('reverse').checked;
    const rows: HTMLTableRowElement[] = [];
    let bytes = 0;
    for await (const [k, v] of d.iterator({ prefix, limit, reverse })) {
      const key = td.decode(k);
      const tr = document.createElement('tr');
      tr.dataset.key = key;
      for (const text of [key, showValue(v), String(v.length)]) {
        const cell = document.createElement('td');
        cell.textContent = text;
        tr.append(cell);
      }
      tr.addEventListener('click', () => {
        $<HTMLInputElement>('key').value = key;
        $<HTMLTextAreaElement>('value').value = td.decode(v);
      });
      rows.push(tr);
      bytes += k.length + v.length;
    }
    $('results').querySelector('tbody')!.replaceChildren(...rows);
    $('scan-info').textContent = `${rows.length} entries${rows.length === limit ? ' (limit reached)' : ''}, ${fmtBytes(bytes)}${prefix === '' ? '' : ` with prefix “${prefix}”`}`;
    return `scan ${prefix === '' ? '(all)' : `prefix ${prefix}`}: ${rows.length} entries`;
  });
}

const FRUITS = ['apple', 'apricot', 'banana', 'blackberry', 'cherry', 'fig', 'grape', 'kiwi', 'lemon', 'lime', 'mango', 'melon', 'orange', 'papaya', 'peach', 'pear', 'plum', 'quince'];
const VEG = ['artichoke', 'beet', 'broccoli', 'cabbage', 'carrot', 'celery', 'kale', 'leek', 'onion', 'pea', 'pepper', 'potato', 'radish', 'spinach', 'squash', 'turnip'];

function wire(): void {
  $('put').addEventListener('click', () =>
    act('put', async (d) => {
      const k = keyInput();
      const v = $<HTMLTextAreaElement>('value').value;
      await d.put(k, v, { sync: $<HTMLInputElement>('sync').checked });
      return `put ${k} (${te.encode(v).length} bytes${$<HTMLInputElement>('sync').checked ? ', synced' : ''})`;
    }),
  );
  $('get').addEventListener('click', () =>
    act('get', async (d) => {
      const k = keyInput();
      const v = await d.get(k);
      if (v !== undefined) $<HTMLTextAreaElement>('value').value = td.decode(v);
      return v === undefined ? `get ${k}: not found` : `get ${k} = ${showValue(v)}`;
    }),
  );
  $('delete').addEventListener('click', () =>
    act('delete', async (d) => {
      const k = keyInput();
      await d.delete(k);
      return `delete ${k}`;
    }),
  );
  $('sample').addEventListener('click', () =>
    act('sample', async (d) => {
      const b = d.batch();
      for (const f of FRUITS) b.put(`fruit:${f}`, `a ${f}, ${f.length} letters`);
      for (const v of VEG) b.put(`veg:${v}`, `a vegetable: ${v}`);
      for (let i = 0; i < 3000; i++) b.put(`user:${String(i).padStart(5, '0')}`, JSON.stringify({ id: i, name: `user ${i}`, score: (i * 7919) % 1000 }));
      await b.write();
      return `sample: ${b.length} keys in one batch (fruit:, veg:, user:)`;
    }),
  );
  $('flush').addEventListener('click', () =>
    act('flush', async (d) => {
      await d.flush();
      return 'flush: memtable written to a table';
    }),
  );
  $('clear').addEventListener('click', () => void deleteDatabase());
  $('scan').addEventListener('click', () => void scan());
  $('prefix').addEventListener('keydown', (e) => {
    if (e.key === 'Enter') void scan();
  });
}

async function deleteDatabase(): Promise<void> {
  if (db === undefined) return;
  await db.close();
  db = undefined;
  const root = await navigator.storage.getDirectory();
  await root.removeEntry(DB_PATH, { recursive: true }).catch(() => undefined);
  log('deleted the database');
  await start();
}

async function start(): Promise<void> {
  setStatus('opening', 'opening…');
  const t0 = performance.now();
  try {
    db = await openInWorker({ path: DB_PATH, worker: new URL('./sett-worker.js', location.href), memtableSize: 256 * 1024 });
  } catch (e) {
    const err = e as Error & { code?: string };
    setStatus('error', err.code === 'ErrLocked' ? 'locked by another tab' : `error: ${err.code ?? err.name}`);
    log(`open: ${err.code ?? err.name}: ${err.message}`, undefined, true);
    return;
  }
  setStatus('open', `open · ${DB_PATH} on OPFS`);
  log(`opened ${DB_PATH}`, performance.now() - t0);
  await refreshStats();
}

wire();
void start();
