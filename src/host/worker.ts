/**
 * The engine host: runs inside a dedicated Worker, opens databases on OPFS (or in memory) and
 * serves the page-side proxy (proxy.ts) over one MessagePort per database. See protocol.ts for
 * the messages.
 *
 * `serveWorker()` is all a worker script needs; the bundled `sett-worker.js` is exactly that.
 * One OpfsFileSystem is shared by every database this worker opens, so a second open of the
 * same directory in this worker fails with ErrLocked like one from another tab.
 *
 * Order: each request's engine call starts synchronously in the message handler (before any
 * await), so requests take effect in the order the page sent them.
 */
import type { DB } from '../api/db.js';
import type { Batch } from '../api/batch.js';
import { ErrInvalidConfig, ErrLocked, ErrStoreClosed } from '../api/errors.js';
import type { DBIterator } from '../api/iterator.js';
import { openWith } from '../api/open.js';
import type { Snapshot } from '../api/snapshot.js';
import { MemoryFileSystem } from '../fs/memory.js';
import { OpfsFileSystem } from '../fs/opfs.js';
import { type DirLock, type FileSystem, isFsError } from '../fs/types.js';
import { ownedBytes, packItems, unpackItems, visitOps } from './pack.js';
import { CONNECT, type ConnectMessage, type HostStorage, type IterChunk, type OpenReply, PROTOCOL_VERSION, type Request, type WireRange } from './protocol.js';
import { toWireError } from './wire-error.js';

interface WorkerScope {
  addEventListener(type: 'message', listener: (e: MessageEvent) => void): void;
}

/** Upper bounds on one iterator chunk, whatever the page asks. */
const chunkEntriesMax = 16384;
const chunkBytesMax = 4 * 1024 * 1024;

let opfs: OpfsFileSystem | undefined;
let memory: MemoryFileSystem | undefined;

function fileSystemFor(storage: HostStorage): FileSystem {
  if (storage === 'memory') return (memory ??= new MemoryFileSystem());
  return (opfs ??= new OpfsFileSystem());
}

/**
 * Serves `openInWorker()` connections on this worker's global scope. Call it once at the top
 * of a worker script.
 */
export function serveWorker(scope: WorkerScope = globalThis as unknown as WorkerScope): void {
  scope.addEventListener('message', (e: MessageEvent) => {
    const m = e.data as Partial<ConnectMessage> | null;
    if (m === null || typeof m !== 'object' || m.type !== CONNECT || m.port === undefined) return;
    const conn = new Connection(m.port);
    if (m.version !== PROTOCOL_VERSION) {
      conn.refuse(`the page speaks sett worker protocol ${String(m.version)} and this worker ${PROTOCOL_VERSION}: serve the sett-worker.js of the same sett version`);
    }
  });
}

/** One database served over one port. */
class Connection {
  private db: DB | undefined;
  private sharedLock: DirLock | undefined;
  private readonly iters = new Map<number, DBIterator>();
  private readonly snaps = new Map<number, Snapshot>();
  private closing = false;

  constructor(private readonly port: MessagePort) {
    port.onmessage = (e: MessageEvent) => this.receive(e.data as Request);
    port.start();
  }

  refuse(message: string): void {
    this.port.onmessage = (e: MessageEvent) => {
      const id = (e.data as { id?: unknown } | null)?.id;
      if (typeof id === 'number') this.port.postMessage({ id, ok: false, error: toWireError(new ErrInvalidConfig(message)) });
    };
  }

  private receive(req: Request): void {
    let result: unknown;
    try {
      result = this.handle(req);
    } catch (e) {
      this.fail(req.id, e);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (v: unknown) => this.reply(req.id, v),
        (e: unknown) => this.fail(req.id, e),
      );
    } else {
      this.reply(req.id, result);
    }
  }

  private reply(id: number, value: unknown): void {
    const transfer: Transferable[] = [];
    if (value instanceof Uint8Array) transfer.push(value.buffer as ArrayBuffer);
    else if (value !== null && typeof value === 'object' && 'lengths' in value && 'data' in value) {
      const p = value as IterChunk;
      transfer.push(p.lengths.buffer as ArrayBuffer, p.data.buffer as ArrayBuffer);
    }
    this.port.postMessage({ id, ok: true, value }, transfer);
  }

  private fail(id: number, e: unknown): void {
    this.port.postMessage({ id, ok: false, error: toWireError(e) });
  }

  private get open(): DB {
    if (this.db === undefined || this.closing) throw new ErrStoreClosed();
    return this.db;
  }

  private snapshotOf(id: number | undefined): Snapshot | undefined {
    if (id === undefined) return undefined;
    const s = this.snaps.get(id);
    if (s === undefined) throw new RangeError(`unknown snapshot ${id} (released, or taken on another connection)`);
    return s;
  }

  /** Starts the request; returns its value or a promise of it. */
  private handle(req: Request): unknown {
    switch (req.op) {
      case 'open':
        return this.openDb(req.options, req.storage);
      case 'put': {
        const kv = req.kv;
        return this.open.put(kv.subarray(0, req.keyLength), kv.subarray(req.keyLength), writeOptions(req.sync));
      }
      case 'get': {
        const v = this.open.getSync(req.key, readOptions(this.snapshotOf(req.snapshot)));
        return v === undefined ? undefined : ownedBytes(v);
      }
      case 'has':
        return this.open.hasSync(req.key, readOptions(this.snapshotOf(req.snapshot)));
      case 'getMany': {
        const keys = unpackItems({ lengths: req.lengths, data: req.keys }) as Uint8Array[];
        return packItems(this.open.getManySync(keys, readOptions(this.snapshotOf(req.snapshot))));
      }
      case 'delete':
        return this.open.delete(req.key, writeOptions(req.sync));
      case 'batch': {
        const b: Batch = this.open.batch();
        visitOps(req.ops, { put: (k, v) => b.put(k, v), delete: (k) => b.delete(k) });
        return b.write(writeOptions(req.sync));
      }
      case 'iterOpen':
        return this.iterOpen(req.iter, req.range);
      case 'iterNext':
        return this.iterNext(req.iter, req.maxEntries, req.maxBytes);
      case 'iterClose': {
        const it = this.iters.get(req.iter);
        this.iters.delete(req.iter);
        it?.closeSync();
        return undefined;
      }
      case 'snapshot': {
        if (this.snaps.has(req.snap)) throw new RangeError(`snapshot id ${req.snap} is in use`);
        const s = this.open.snapshot();
        this.snaps.set(req.snap, s);
        return s.version;
      }
      case 'snapshotRelease': {
        this.snaps.get(req.snap)?.release();
        this.snaps.delete(req.snap);
        return undefined;
      }
      case 'stats':
        return this.open.stats();
      case 'flush':
        return this.open.flush();
      case 'compactRange':
        return this.open.compactRange(req.start, req.end);
      case 'sync':
        return this.open.sync();
      case 'verify':
        return this.open.verify();
      case 'close':
        return this.close();
      default:
        throw new RangeError(`unknown request ${String((req as { op: unknown }).op)}`);
    }
  }

  private async openDb(options: Record<string, unknown>, storage: HostStorage): Promise<OpenReply> {
    if (this.db !== undefined) throw new ErrInvalidConfig('this connection already has a database open');
    if ('fs' in options) throw new ErrInvalidConfig('option fs cannot cross to the worker: choose storage "opfs" or "memory"');
    if (storage !== 'opfs' && storage !== 'memory') throw new ErrInvalidConfig(`option storage must be 'opfs' or 'memory', got ${String(storage)}`);
    const fs = fileSystemFor(storage);
    const path = options.path;
    if (options.readOnly === true && fs instanceof OpfsFileSystem && typeof path === 'string') {
      try {
        this.sharedLock = await fs.lockShared(path);
      } catch (e) {
        if (isFsError(e, 'EBUSY')) {
          throw new ErrLocked(`database at ${path} is open for writing in another tab or worker: a read-only view on OPFS needs the writer to close first (OPFS files are locked while open)`, { cause: e });
        }
        throw e;
      }
    }
    try {
      this.db = await openWith({ ...options, fs } as Parameters<typeof openWith>[0], undefined);
    } catch (e) {
      await this.sharedLock?.release();
      this.sharedLock = undefined;
      throw e;
    }
    return { config: this.db.config, lastVersion: this.db.lastVersion };
  }

  private iterOpen(id: number, r: WireRange): undefined {
    if (this.iters.has(id)) throw new RangeError(`iterator id ${id} is in use`);
    const { snapshot, ...range } = r;
    const snap = this.snapshotOf(snapshot);
    const it = this.open.iterator(snap === undefined ? range : { ...range, snapshot: snap });
    this.iters.set(id, it);
    return undefined;
  }

  private iterNext(id: number, maxEntries: number, maxBytes: number): IterChunk {
    const it = this.iters.get(id);
    if (it === undefined) throw new RangeError(`unknown iterator ${id} (closed, or never opened)`);
    const entriesMax = Math.max(1, Math.min(maxEntries, chunkEntriesMax));
    const bytesMax = Math.max(1, Math.min(maxBytes, chunkBytesMax));
    const items: Uint8Array[] = [];
    let bytes = 0;
    let done = false;
    while (items.length < entriesMax * 2 && bytes < bytesMax) {
      const e = it.nextSync();
      if (e === undefined) {
        done = true;
        break;
      }
      items.push(e[0], e[1]);
      bytes += e[0].length + e[1].length;
    }
    if (done) this.iters.delete(id);
    return { ...packItems(items), done };
  }

  private async close(): Promise<void> {
    if (this.db === undefined || this.closing) return;
    this.closing = true;
    for (const it of this.iters.values()) it.closeSync();
    this.iters.clear();
    for (const s of this.snaps.values()) s.release();
    this.snaps.clear();
    try {
      await this.db.close();
    } finally {
      await this.sharedLock?.release();
      this.sharedLock = undefined;
    }
  }
}

function writeOptions(sync: boolean | undefined): { sync: boolean } | undefined {
  return sync === undefined ? undefined : { sync };
}

function readOptions(snapshot: Snapshot | undefined): { snapshot: Snapshot } | undefined {
  return snapshot === undefined ? undefined : { snapshot };
}
