/**
 * `FaultFileSystem`: wraps any FileSystem (and every handle it opens) and injects faults by
 * rules, like Pebble's errorfs. Browser-safe.
 *
 * Each operation has a kind (`FsOpKind`). `exists`, `size` and `close` are never faulted and
 * not counted. For every operation, in rule order, each rule whose kind and path match counts
 * the operation (its `matched` counter); the first matching rule that is due fires:
 * - due means: `matched >= nth` (default nth 1), it fired fewer than `times` (default 1)
 *   times, and a draw of the seeded PRNG is below `probability` (default 1, no draw).
 *   So `{ nth: 3 }` fails the 3rd matching operation once; `{ nth: 3, times: Infinity }` the 3rd
 *   and every later one. Counting starts when the rule is added; a rule without `kind` counts
 *   every operation, which gives "the Nth operation overall".
 * - the fault is an error code (thrown as FsError with `injected: true` and 'injected' in the
 *   message, before the operation reaches the inner file system), 'torn' (writes only: a
 *   prefix of the bytes is written, then EIO is thrown) or 'bitflip' (reads only: the read
 *   succeeds and one bit of the bytes returned is flipped; the file itself is unchanged).
 *   A 'torn' rule only matches writes and a 'bitflip' rule only reads; a bit-flip rule does
 *   not match a read that returned no bytes (reads are checked after the inner read).
 * An injected sync error leaves the inner file's writes unsynced (they may still be lost by a
 * crash clone of the inner MemoryFileSystem), which is what a real fsync failure allows.
 */

import { Prng } from './prng.js';
import { FsError, type DirLock, type FileHandle, type FileSystem, type FsErrorCode, type OpenOptions } from './types.js';

export const FS_OP_KINDS = ['open', 'read', 'write', 'sync', 'truncate', 'rename', 'remove', 'list', 'mkdir', 'syncDir', 'lock'] as const;
export type FsOpKind = (typeof FS_OP_KINDS)[number];

export type FaultKind = FsErrorCode | 'torn' | 'bitflip';

export interface FaultRule {
  /** What to inject. */
  fault: FaultKind;
  /** Operation kinds the rule matches (default: all that the fault applies to). */
  kind?: FsOpKind | readonly FsOpKind[];
  /** Substring or RegExp tested against the path (both paths of a rename). Default: any. */
  path?: string | RegExp;
  /** Fire from the nth matching operation on, counted from when the rule was added (1-based). Default 1. */
  nth?: number;
  /** How many times the rule fires; `Infinity` for a persistent fault. Default 1 (one-shot). */
  times?: number;
  /** Chance that a due rule fires, drawn from the seeded PRNG. Default 1. */
  probability?: number;
  /** For 'torn': bytes that land before the error (clamped below the write's length). Default: a seeded share. */
  tornBytes?: number;
}

/** A rule's counters. */
export interface RuleState {
  readonly matched: number;
  readonly fired: number;
  /** True once the rule fired `times` times. */
  readonly exhausted: boolean;
}

export interface FaultStats {
  /** Operations seen, per kind (faulted ones included). */
  readonly ops: Readonly<Record<FsOpKind, number>>;
  /** Faults injected, per kind. */
  readonly faults: Readonly<Record<FsOpKind, number>>;
  readonly opsTotal: number;
  readonly faultsTotal: number;
}

export interface FaultFileSystemOptions {
  /** Seed for `probability` draws, torn lengths and flipped bits. Default 1. */
  seed?: number;
}

interface ActiveRule {
  readonly rule: FaultRule;
  readonly kinds: ReadonlySet<FsOpKind> | undefined;
  matched: number;
  fired: number;
}

function zeroCounts(): Record<FsOpKind, number> {
  return Object.fromEntries(FS_OP_KINDS.map((k) => [k, 0])) as Record<FsOpKind, number>;
}

function checkRule(rule: FaultRule): ReadonlySet<FsOpKind> | undefined {
  const kinds = rule.kind === undefined ? undefined : new Set<FsOpKind>(typeof rule.kind === 'string' ? [rule.kind] : rule.kind);
  for (const k of kinds ?? []) {
    if (!FS_OP_KINDS.includes(k)) throw new RangeError(`unknown operation kind '${k}'`);
  }
  const only = rule.fault === 'torn' ? 'write' : rule.fault === 'bitflip' ? 'read' : undefined;
  if (only !== undefined && kinds !== undefined && !kinds.has(only)) {
    throw new RangeError(`a '${rule.fault}' fault applies only to '${only}' operations`);
  }
  const nth = rule.nth ?? 1;
  if (!Number.isSafeInteger(nth) || nth < 1) throw new RangeError(`nth must be an integer >= 1, got ${nth}`);
  const times = rule.times ?? 1;
  if (times !== Infinity && (!Number.isSafeInteger(times) || times < 1)) {
    throw new RangeError(`times must be an integer >= 1 or Infinity, got ${times}`);
  }
  const p = rule.probability ?? 1;
  if (!(p >= 0 && p <= 1)) throw new RangeError(`probability must be in [0, 1], got ${p}`);
  if (rule.tornBytes !== undefined && (!Number.isSafeInteger(rule.tornBytes) || rule.tornBytes < 0)) {
    throw new RangeError(`tornBytes must be a non-negative integer, got ${rule.tornBytes}`);
  }
  return kinds;
}

function faultApplies(fault: FaultKind, kind: FsOpKind): boolean {
  return fault === 'torn' ? kind === 'write' : fault === 'bitflip' ? kind === 'read' : true;
}

function pathMatches(pattern: string | RegExp | undefined, paths: readonly string[]): boolean {
  if (pattern === undefined) return true;
  if (typeof pattern === 'string') return paths.some((p) => p.includes(pattern));
  return paths.some((p) => {
    pattern.lastIndex = 0; // a /g or /y pattern is stateful
    return pattern.test(p);
  });
}

export class FaultFileSystem implements FileSystem {
  private readonly open_ = new Set<FileHandle>();
  readonly name: string;
  readonly simulated: boolean;
  private readonly rules = new Map<number, ActiveRule>();
  private nextRuleId = 1;
  private readonly prng: Prng;
  private readonly ops = zeroCounts();
  private readonly faults = zeroCounts();

  constructor(
    /** The wrapped file system (for a MemoryFileSystem: call `crashClone` on it). */
    readonly inner: FileSystem,
    options: FaultFileSystemOptions = {},
  ) {
    this.name = `fault(${inner.name})`;
    this.simulated = inner.simulated === true;
    this.prng = new Prng(options.seed ?? 1);
  }

  /** Adds a rule (checked: RangeError on a bad one); returns its id. */
  addRule(rule: FaultRule): number {
    const kinds = checkRule(rule);
    const id = this.nextRuleId++;
    this.rules.set(id, { rule: { ...rule }, kinds, matched: 0, fired: 0 });
    return id;
  }

  /** Removes a rule; returns whether it existed. */
  removeRule(id: number): boolean {
    return this.rules.delete(id);
  }

  clearRules(): void {
    this.rules.clear();
  }

  /** Counters of a rule, or undefined if it was removed. Exhausted rules stay until removed. */
  ruleState(id: number): RuleState | undefined {
    const r = this.rules.get(id);
    if (r === undefined) return undefined;
    return { matched: r.matched, fired: r.fired, exhausted: r.fired >= (r.rule.times ?? 1) };
  }

  stats(): FaultStats {
    const sum = (c: Record<FsOpKind, number>) => FS_OP_KINDS.reduce((s, k) => s + c[k], 0);
    return { ops: { ...this.ops }, faults: { ...this.faults }, opsTotal: sum(this.ops), faultsTotal: sum(this.faults) };
  }

  /**
   * @internal Counts an operation and returns the rule that fires on it, if any. Called by the
   * wrappers before the operation (after it for reads); an error-code fault is thrown here.
   * `emptyRead` keeps bit-flip rules from matching a read that returned no bytes.
   */
  check(kind: FsOpKind, paths: readonly string[], emptyRead = false): FaultRule | undefined {
    this.ops[kind]++;
    let firing: ActiveRule | undefined;
    for (const r of this.rules.values()) {
      if (!faultApplies(r.rule.fault, kind) || (r.kinds !== undefined && !r.kinds.has(kind))) continue;
      if (emptyRead && r.rule.fault === 'bitflip') continue;
      if (!pathMatches(r.rule.path, paths)) continue;
      r.matched++;
      if (firing !== undefined || r.matched < (r.rule.nth ?? 1) || r.fired >= (r.rule.times ?? 1)) continue;
      const p = r.rule.probability ?? 1;
      if (p < 1 && !this.prng.chance(p)) continue;
      firing = r;
    }
    if (firing === undefined) return undefined;
    firing.fired++;
    this.faults[kind]++;
    const fault = firing.rule.fault;
    if (fault !== 'torn' && fault !== 'bitflip') throw injectedError(fault, kind, paths);
    return firing.rule;
  }

  /** @internal Picks how many bytes of a `length`-byte write land before a torn write fails. */
  tornLength(rule: FaultRule, length: number): number {
    if (length === 0) return 0;
    return Math.min(rule.tornBytes ?? this.prng.nextInt(length), length - 1);
  }

  /** @internal Flips one seeded bit among the first `n` bytes of `buf`. */
  flipBit(buf: Uint8Array, n: number): void {
    const i = this.prng.nextInt(n);
    buf[i] = buf[i]! ^ (1 << this.prng.nextInt(8));
  }

  async open(path: string, options?: OpenOptions): Promise<FileHandle> {
    this.check('open', [path]);
    const h = new FaultFileHandle(this, await this.inner.open(path, options));
    this.open_.add(h);
    return h;
  }

  /** Paths of the handles opened through this file system and not closed yet (leak checks). */
  openHandles(): string[] {
    return [...this.open_].map((h) => h.path);
  }

  /** @internal A handle was closed. */
  closed(h: FileHandle): void {
    this.open_.delete(h);
  }

  async list(dir: string): Promise<string[]> {
    this.check('list', [dir]);
    return this.inner.list(dir);
  }

  async rename(from: string, to: string): Promise<void> {
    this.check('rename', [from, to]);
    return this.inner.rename(from, to);
  }

  async remove(path: string): Promise<void> {
    this.check('remove', [path]);
    return this.inner.remove(path);
  }

  async mkdir(dir: string): Promise<void> {
    this.check('mkdir', [dir]);
    return this.inner.mkdir(dir);
  }

  /** Never faulted, not counted. */
  async exists(path: string): Promise<boolean> {
    return this.inner.exists(path);
  }

  async syncDir(dir: string): Promise<void> {
    this.check('syncDir', [dir]);
    return this.inner.syncDir(dir);
  }

  async lock(dir: string): Promise<DirLock> {
    this.check('lock', [dir]);
    return this.inner.lock(dir);
  }
}

function injectedError(code: FsErrorCode, kind: FsOpKind, paths: readonly string[]): FsError {
  return new FsError(code, `injected fault on ${kind}`, { path: paths.join(' -> '), injected: true });
}

/** A handle of the inner file system, with faults checked before each operation. */
class FaultFileHandle implements FileHandle {
  constructor(
    private readonly fs: FaultFileSystem,
    private readonly inner: FileHandle,
  ) {}

  get path(): string {
    return this.inner.path;
  }

  /** Reads first (a read has no side effect), so a bit flip knows how many bytes came back. */
  readAt(buf: Uint8Array, position: number): number {
    const n = this.inner.readAt(buf, position);
    if (this.fs.check('read', [this.path], n === 0) !== undefined) this.fs.flipBit(buf, n);
    return n;
  }

  writeAt(data: Uint8Array, position: number): void {
    const rule = this.fs.check('write', [this.path]);
    if (rule === undefined) return this.inner.writeAt(data, position);
    const landed = this.fs.tornLength(rule, data.length);
    if (landed > 0) this.inner.writeAt(data.subarray(0, landed), position);
    throw new FsError('EIO', `injected torn write: ${landed} of ${data.length} bytes written`, { path: this.path, injected: true });
  }

  sync(): void {
    this.fs.check('sync', [this.path]);
    this.inner.sync();
  }

  truncate(size: number): void {
    this.fs.check('truncate', [this.path]);
    this.inner.truncate(size);
  }

  size(): number {
    return this.inner.size();
  }

  close(): void {
    this.fs.closed(this);
    this.inner.close();
  }
}
