/**
 * Subscriptions to key prefixes (Badger's Subscribe): after a write is published, every entry
 * whose key starts with one of a subscription's prefixes is delivered to its callback, in
 * version order, as one array per write (a transaction or batch arrives whole).
 *
 * The commit queue hands each published batch over synchronously (CommitQueue.onPublish);
 * entries are decoded and copied there, and the callbacks run later, from a microtask, so a
 * subscriber can neither stall nor break the commit path, and may write from its callback.
 * The hook is installed only while a subscription exists.
 *
 * A Change (and its key and value) may be shared by several subscribers: do not modify it.
 * A callback that throws ends its subscription: the error is kept in `error` and passed to
 * `onError` (if given); nothing is swallowed silently.
 */
import { ErrCorruption } from '../api/errors.js';
import { type DecodedValue, decodeValueHeader, EntryKind, MetaFlag } from '../codec/value.js';
import type { Engine } from '../engine/engine.js';
import { visitBatchRep, type BatchRep } from '../wal/batch.js';

export interface Change {
  key: Uint8Array;
  /** undefined for a delete. */
  value: Uint8Array | undefined;
  version: number;
  /** Seconds since the epoch; 0 = never. */
  expiresAt: number;
  /** -1 = none. */
  userMeta: number;
}

export interface SubscribeOptions {
  /** Called with the error if `onChange` throws (the subscription is then closed). */
  onError?: (error: unknown) => void;
}

function startsWith(key: Uint8Array, prefix: Uint8Array): boolean {
  if (key.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (key[i] !== prefix[i]) return false;
  return true;
}

export class Subscription {
  private readonly hub: SubscriptionHub;
  readonly prefixes: readonly Uint8Array[];
  private readonly onChange: (changes: Change[]) => void;
  private readonly onError: ((error: unknown) => void) | undefined;
  /** The error its callback threw, if that ended it. */
  error: unknown;
  closed = false;

  /** @internal */
  constructor(hub: SubscriptionHub, prefixes: readonly Uint8Array[], onChange: (changes: Change[]) => void, options: SubscribeOptions) {
    this.hub = hub;
    this.prefixes = prefixes;
    this.onChange = onChange;
    this.onError = options.onError;
  }

  matches(key: Uint8Array): boolean {
    if (this.prefixes.length === 0) return true;
    for (const p of this.prefixes) if (startsWith(key, p)) return true;
    return false;
  }

  /** @internal */
  deliver(changes: Change[]): void {
    if (this.closed) return;
    try {
      this.onChange(changes);
    } catch (e) {
      this.fail(e);
    }
  }

  /** @internal Ends the subscription with `e`. */
  fail(e: unknown): void {
    if (this.closed) return;
    this.error = e;
    this.close();
    this.onError?.(e);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.hub.remove(this);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

const header: DecodedValue = { kind: 0, expiresAt: 0, userMeta: 0, valueStart: 0 };

export class SubscriptionHub {
  private readonly engine: Engine;
  private readonly subs = new Set<Subscription>();

  constructor(engine: Engine) {
    this.engine = engine;
  }

  add(prefixes: readonly Uint8Array[], onChange: (changes: Change[]) => void, options: SubscribeOptions): Subscription {
    const s = new Subscription(this, prefixes.map((p) => p.slice()), onChange, options);
    this.subs.add(s);
    this.engine.commits.onPublish = (rep, first) => {
      // Never throw into the commit path: a failure here ends the subscriptions, with the error.
      try {
        this.published(rep, first);
      } catch (e) {
        for (const sub of [...this.subs]) queueMicrotask(() => sub.fail(e));
      }
    };
    return s;
  }

  remove(s: Subscription): void {
    this.subs.delete(s);
    if (this.subs.size === 0) this.engine.commits.onPublish = undefined;
  }

  private published(rep: BatchRep, first: number): void {
    const subs = [...this.subs];
    const perSub = new Map<Subscription, Change[]>();
    visitBatchRep(rep, first, {
      entry(key: Uint8Array, version: number, encoded: Uint8Array): void {
        let change: Change | undefined;
        for (const s of subs) {
          if (!s.matches(key)) continue;
          if (change === undefined) {
            const h = decodeValueHeader(encoded, header);
            if (h === undefined) throw new ErrCorruption('malformed entry value in a published batch');
            change = {
              key: key.slice(),
              value: h.kind === EntryKind.Delete ? undefined : encoded.slice(h.valueStart),
              version,
              expiresAt: h.expiresAt,
              userMeta: (encoded[0]! & MetaFlag.UserMeta) !== 0 ? h.userMeta : -1,
            };
          }
          let list = perSub.get(s);
          if (list === undefined) perSub.set(s, (list = []));
          list.push(change);
        }
      },
    });
    if (perSub.size === 0) return;
    queueMicrotask(() => {
      for (const [s, changes] of perSub) s.deliver(changes);
    });
  }
}
