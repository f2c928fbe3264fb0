/**
 * The message protocol between a page (`openInWorker`, proxy.ts) and the engine host in a
 * dedicated Worker (worker.ts).
 *
 * Connection: the page creates a MessageChannel and posts `{ type: 'sett:connect', version,
 * port }` to the worker, transferring one end; everything else travels over that port, so one
 * worker can host several databases (one port each). The first request on a port is `open`.
 *
 * Requests carry an `id` (a positive integer, per port) and get exactly one reply with the same
 * id, in any order. The host starts every request in the order it arrives, synchronously where
 * the engine call is synchronous (puts enter the commit queue, snapshots and iterators pin their
 * version in arrival order), so a page that issues a write and then a snapshot without waiting
 * sees the same order as a local caller would.
 *
 * Bytes: keys and values are sent as Uint8Arrays whose buffers are fresh and transferred, never
 * structured-cloned views (a clone copies a view's whole underlying buffer). A write batch is
 * packed into one buffer (pack.ts); iterator results and getMany results come back packed the
 * same way, one transfer per chunk, and the page hands out views into it.
 *
 * Iterator and snapshot ids are chosen by the page (so creating one needs no round trip) and
 * are unique per port.
 */
import type { DBStats } from '../api/stats.js';
import type { Config } from '../api/options.js';
import type { VerifyReport } from '../engine/verify.js';
import type { WireError } from './wire-error.js';

export const PROTOCOL_VERSION = 1;
export const CONNECT = 'sett:connect';

export interface ConnectMessage {
  type: typeof CONNECT;
  version: number;
  port: MessagePort;
}

/** Range options on the wire: bounds as fresh byte arrays. */
export interface WireRange {
  gt?: Uint8Array;
  gte?: Uint8Array;
  lt?: Uint8Array;
  lte?: Uint8Array;
  prefix?: Uint8Array;
  reverse?: boolean;
  limit?: number;
  keysOnly?: boolean;
  snapshot?: number;
}

/** Which file system the host opens the database on. */
export type HostStorage = 'opfs' | 'memory';

export type Request =
  | { id: number; op: 'open'; options: Record<string, unknown>; storage: HostStorage }
  /** `kv`: key bytes then value bytes in one transferred buffer; `keyLength` splits them. */
  | { id: number; op: 'put'; kv: Uint8Array; keyLength: number; sync: boolean | undefined }
  | { id: number; op: 'get' | 'has'; key: Uint8Array; snapshot: number | undefined }
  | { id: number; op: 'getMany'; keys: Uint8Array; lengths: Int32Array; snapshot: number | undefined }
  | { id: number; op: 'delete'; key: Uint8Array; sync: boolean | undefined }
  | { id: number; op: 'batch'; ops: Uint8Array; sync: boolean | undefined }
  | { id: number; op: 'iterOpen'; iter: number; range: WireRange }
  | { id: number; op: 'iterNext'; iter: number; maxEntries: number; maxBytes: number }
  | { id: number; op: 'iterClose'; iter: number }
  | { id: number; op: 'snapshot'; snap: number }
  | { id: number; op: 'snapshotRelease'; snap: number }
  | { id: number; op: 'compactRange'; start: Uint8Array | undefined; end: Uint8Array | undefined }
  | { id: number; op: 'stats' | 'flush' | 'sync' | 'verify' | 'close' };

export type Op = Request['op'];

/** Packed entries: `data` holds key, value, key, value, …; `lengths` their byte lengths (-1: missing). */
export interface PackedEntries {
  lengths: Int32Array;
  data: Uint8Array;
}

export interface OpenReply {
  config: Config;
  lastVersion: number;
}

export interface IterChunk extends PackedEntries {
  /** No more entries: the host has closed its iterator. */
  done: boolean;
}

export interface ReplyValues {
  open: OpenReply;
  put: undefined;
  get: Uint8Array | undefined;
  has: boolean;
  getMany: PackedEntries;
  delete: undefined;
  batch: undefined;
  iterOpen: undefined;
  iterNext: IterChunk;
  iterClose: undefined;
  snapshot: number;
  snapshotRelease: undefined;
  stats: DBStats;
  flush: undefined;
  compactRange: undefined;
  sync: undefined;
  verify: VerifyReport;
  close: undefined;
}

export type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: WireError };

/** A request without its id (the channel adds it). */
export type RequestBody = Request extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never;
