/**
 * Errors across the worker boundary. Structured clone keeps an Error's message but drops its
 * class and extra fields, so errors travel as plain objects and are rebuilt on the page as the
 * same classes: a SettError keeps its `code` (and `ErrCorruption` its file and offset), an
 * FsError its code and path, TypeError and RangeError stay what they are, and the `cause` chain
 * comes along (a few levels deep). The worker's stack is kept, below the page's.
 */
import { ErrorCode, SettError, ErrBatchWriteFailed, ErrCorruption, ErrInsufficientDiskSpace, ErrInvalidConfig, ErrInvalidKey, ErrInvalidValue, ErrIO, ErrIteratorClosed, ErrKeyNotFound, ErrLocked, ErrReadOnly, ErrSnapshotReleased, ErrStoreClosed, ErrStoreFailed, ErrValueTooLarge, ErrConflict, ErrTxnTooBig, ErrTxnDone, ErrReadOnlyTxn } from '../api/errors.js';
import { FsError, type FsErrorCode } from '../fs/types.js';

export interface WireError {
  name: string;
  message: string;
  stack: string | undefined;
  /** SettError or FsError code. */
  code: string | undefined;
  kind: 'sett' | 'fs' | 'type' | 'range' | 'other';
  file: string | undefined;
  offset: number | undefined;
  path: string | undefined;
  injected: boolean | undefined;
  cause: WireError | undefined;
}

const causeDepthMax = 4;

export function toWireError(e: unknown, depth = 0): WireError {
  const err = e instanceof Error ? e : new Error(String(e));
  const kind: WireError['kind'] = err instanceof SettError ? 'sett' : err instanceof FsError ? 'fs' : err instanceof TypeError ? 'type' : err instanceof RangeError ? 'range' : 'other';
  const cause = (err as { cause?: unknown }).cause;
  return {
    name: err.name,
    message: err.message,
    stack: err.stack,
    code: kind === 'sett' || kind === 'fs' ? String((err as unknown as { code: unknown }).code) : undefined,
    kind,
    file: err instanceof ErrCorruption ? err.file : undefined,
    offset: err instanceof ErrCorruption ? err.offset : undefined,
    path: err instanceof FsError ? err.path : undefined,
    injected: err instanceof FsError ? err.injected : undefined,
    cause: cause !== undefined && depth < causeDepthMax ? toWireError(cause, depth + 1) : undefined,
  };
}

const SETT_CLASSES: Readonly<Record<string, { prototype: SettError }>> = {
  [ErrorCode.KeyNotFound]: ErrKeyNotFound,
  [ErrorCode.StoreClosed]: ErrStoreClosed,
  [ErrorCode.Locked]: ErrLocked,
  [ErrorCode.Corruption]: ErrCorruption,
  [ErrorCode.InvalidConfig]: ErrInvalidConfig,
  [ErrorCode.InvalidKey]: ErrInvalidKey,
  [ErrorCode.InvalidValue]: ErrInvalidValue,
  [ErrorCode.ValueTooLarge]: ErrValueTooLarge,
  [ErrorCode.BatchWriteFailed]: ErrBatchWriteFailed,
  [ErrorCode.StoreFailed]: ErrStoreFailed,
  [ErrorCode.InsufficientDiskSpace]: ErrInsufficientDiskSpace,
  [ErrorCode.ReadOnly]: ErrReadOnly,
  [ErrorCode.IteratorClosed]: ErrIteratorClosed,
  [ErrorCode.SnapshotReleased]: ErrSnapshotReleased,
  [ErrorCode.IO]: ErrIO,
  [ErrorCode.Conflict]: ErrConflict,
  [ErrorCode.TxnTooBig]: ErrTxnTooBig,
  [ErrorCode.TxnDone]: ErrTxnDone,
  [ErrorCode.ReadOnlyTxn]: ErrReadOnlyTxn,
};

function define(target: object, fields: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(fields)) {
    if (v !== undefined) Object.defineProperty(target, k, { value: v, writable: true, configurable: true, enumerable: k !== 'stack' && k !== 'message' && k !== 'cause' });
  }
}

/** Rebuilds an error sent with toWireError, as an instance of the same class where known. */
export function fromWireError(w: WireError): Error {
  let proto: object;
  if (w.kind === 'sett') proto = (SETT_CLASSES[w.code ?? ''] ?? SettError).prototype;
  else if (w.kind === 'fs') proto = FsError.prototype;
  else if (w.kind === 'type') proto = TypeError.prototype;
  else if (w.kind === 'range') proto = RangeError.prototype;
  else proto = Error.prototype;
  const e = Object.create(proto) as Error;
  define(e, { message: w.message, name: w.name, cause: w.cause === undefined ? undefined : fromWireError(w.cause) });
  if (w.kind === 'sett') define(e, { code: w.code, file: w.file, offset: w.offset });
  if (w.kind === 'fs') define(e, { code: w.code as FsErrorCode, path: w.path, injected: w.injected ?? false });
  // The page's frames (where the call was made), then the worker's (where it failed).
  const pageFrames = (new Error().stack ?? '').split('\n').slice(2).join('\n');
  const workerFrames = (w.stack ?? '').split('\n').slice(1).join('\n');
  define(e, { stack: `${w.name}: ${w.message}\n${pageFrames}\n    --- in the sett worker ---\n${workerFrames}` });
  return e;
}
