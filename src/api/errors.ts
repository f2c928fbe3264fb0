/**
 * sett's error family. Every error the library raises on purpose is a `SettError` with a stable
 * `code` (listed in the README) and, where there is one, a `cause`. Codes are part of the public
 * API: never rename one.
 */

export const ErrorCode = {
  KeyNotFound: 'ErrKeyNotFound',
  StoreClosed: 'ErrStoreClosed',
  Locked: 'ErrLocked',
  Corruption: 'ErrCorruption',
  InvalidConfig: 'ErrInvalidConfig',
  InvalidKey: 'ErrInvalidKey',
  InvalidValue: 'ErrInvalidValue',
  ValueTooLarge: 'ErrValueTooLarge',
  BatchWriteFailed: 'ErrBatchWriteFailed',
  StoreFailed: 'ErrStoreFailed',
  InsufficientDiskSpace: 'ErrInsufficientDiskSpace',
  ReadOnly: 'ErrReadOnly',
  IteratorClosed: 'ErrIteratorClosed',
  SnapshotReleased: 'ErrSnapshotReleased',
  IO: 'ErrIO',
  Conflict: 'ErrConflict',
  TxnTooBig: 'ErrTxnTooBig',
  TxnDone: 'ErrTxnDone',
  ReadOnlyTxn: 'ErrReadOnlyTxn',
  InvalidVersion: 'ErrInvalidVersion',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class SettError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
  }
}

/** A call promised a value for a key that does not exist (e.g. `getOrThrow`). */
export class ErrKeyNotFound extends SettError {
  constructor(message = 'key not found') {
    super(ErrorCode.KeyNotFound, message);
  }
}

/** The store was closed (or is closing); reopen it with `open()`. */
export class ErrStoreClosed extends SettError {
  constructor(message = 'store is closed: open it again with open()') {
    super(ErrorCode.StoreClosed, message);
  }
}

/** Another writer holds the database directory. */
export class ErrLocked extends SettError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.Locked, message, options);
  }
}

/** Stored data failed a checksum or a structural check. Names the file and offset. */
export class ErrCorruption extends SettError {
  readonly file: string | undefined;
  readonly offset: number | undefined;
  constructor(message: string, where?: { file?: string; offset?: number; cause?: unknown }) {
    const at =
      where?.file === undefined
        ? ''
        : ` (file ${where.file}${where.offset === undefined ? '' : ` at offset ${where.offset}`})`;
    super(ErrorCode.Corruption, `${message}${at}`, where?.cause === undefined ? undefined : { cause: where.cause });
    this.file = where?.file;
    this.offset = where?.offset;
  }
}

/** An option is missing, of the wrong type or out of range. */
export class ErrInvalidConfig extends SettError {
  constructor(message: string) {
    super(ErrorCode.InvalidConfig, message);
  }
}

/** A key is empty, too long or not bytes/string. */
export class ErrInvalidKey extends SettError {
  constructor(message: string) {
    super(ErrorCode.InvalidKey, message);
  }
}

/** A value is not bytes/string. */
export class ErrInvalidValue extends SettError {
  constructor(message: string) {
    super(ErrorCode.InvalidValue, message);
  }
}

/** A value (or a whole batch) is larger than the engine accepts. */
export class ErrValueTooLarge extends SettError {
  constructor(message: string) {
    super(ErrorCode.ValueTooLarge, message);
  }
}

/** A batch was used after it was written, or its write failed. */
export class ErrBatchWriteFailed extends SettError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.BatchWriteFailed, message, options);
  }
}

/**
 * A write to durable storage failed in a way that leaves the on-disk state unknown (a failed
 * fsync, a failed manifest write). The store refuses every further write and reports the cause;
 * reads of what was already acknowledged keep working. Reopen to recover.
 */
export class ErrStoreFailed extends SettError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.StoreFailed, message, options);
  }
}

/** The disk (or OPFS quota) is full. Nothing acknowledged was lost. */
export class ErrInsufficientDiskSpace extends SettError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.InsufficientDiskSpace, message, options);
  }
}

/** A write was attempted on a store opened read-only. */
export class ErrReadOnly extends SettError {
  constructor(message = 'store was opened read-only') {
    super(ErrorCode.ReadOnly, message);
  }
}

/** An iterator was used after close(). */
export class ErrIteratorClosed extends SettError {
  constructor(message = 'iterator is closed') {
    super(ErrorCode.IteratorClosed, message);
  }
}

/** A snapshot was used after release(). */
export class ErrSnapshotReleased extends SettError {
  constructor(message = 'snapshot was released') {
    super(ErrorCode.SnapshotReleased, message);
  }
}

/** An I/O error from the file system that is not one of the above. */
export class ErrIO extends SettError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.IO, message, options);
  }
}

/**
 * A transaction could not commit: a key it read, or a key inside a range it iterated, was
 * written by another commit after its read version. Nothing of it was written; run it again
 * (`db.update` does, up to its `retries`).
 */
export class ErrConflict extends SettError {
  constructor(message = 'transaction conflict: data it read was changed by a later commit; retry the transaction') {
    super(ErrorCode.Conflict, message);
  }
}

/** A write would take a transaction past its size limit; the write was not added, the rest can still commit. */
export class ErrTxnTooBig extends SettError {
  constructor(message: string) {
    super(ErrorCode.TxnTooBig, message);
  }
}

/** A transaction was used after commit() or rollback(). */
export class ErrTxnDone extends SettError {
  constructor(message = 'transaction was already committed or rolled back; start a new one') {
    super(ErrorCode.TxnDone, message);
  }
}

/** A write in a read-only transaction (`db.view`, or `transaction({ readOnly: true })`). */
export class ErrReadOnlyTxn extends SettError {
  constructor(message = 'write in a read-only transaction; use db.update() or transaction() without readOnly') {
    super(ErrorCode.ReadOnlyTxn, message);
  }
}

/**
 * A managed version out of range: a commit version not above the last version written, a read
 * version above it or below the history kept (the discard version), or a discard version that
 * goes backwards or beyond the last version.
 */
export class ErrInvalidVersion extends SettError {
  constructor(message: string) {
    super(ErrorCode.InvalidVersion, message);
  }
}

export function isSettError(e: unknown): e is SettError {
  return e instanceof SettError;
}
