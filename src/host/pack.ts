/**
 * Packing many keys and values into one buffer, so a batch or an iterator chunk crosses the
 * worker boundary as one transfer (no per-entry message, no copy by structured clone).
 *
 * Batch ops (page → worker), repeated, little-endian:
 *
 *   +------+------------+--------------+-----------+-------------+
 *   | type | key length | value length | key bytes | value bytes |
 *   |  u8  |    u32     | u32 (put)    |           | (put)       |
 *   +------+------------+--------------+-----------+-------------+
 *
 * type 1 = put, 2 = delete (0 is never valid: a zeroed buffer is caught). A delete has no value
 * length and no value bytes.
 *
 * Entries (worker → page): `lengths` (Int32Array) holds the byte length of each item in order
 * (for iterator chunks: key, value, key, value, …), -1 for a missing value; `data` holds the
 * items back to back. The page hands out subarray views of `data`.
 */
import type { PackedEntries } from './protocol.js';

export const OpType = { Put: 1, Delete: 2 } as const;

/** Grows one buffer of packed batch ops. Every key and value is copied in when added. */
export class OpPacker {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  private pos = 0;
  count = 0;

  get byteLength(): number {
    return this.pos;
  }

  put(key: Uint8Array, value: Uint8Array): void {
    this.reserve(9 + key.length + value.length);
    this.buf[this.pos] = OpType.Put;
    this.view.setUint32(this.pos + 1, key.length, true);
    this.view.setUint32(this.pos + 5, value.length, true);
    this.buf.set(key, this.pos + 9);
    this.buf.set(value, this.pos + 9 + key.length);
    this.pos += 9 + key.length + value.length;
    this.count++;
  }

  delete(key: Uint8Array): void {
    this.reserve(5 + key.length);
    this.buf[this.pos] = OpType.Delete;
    this.view.setUint32(this.pos + 1, key.length, true);
    this.buf.set(key, this.pos + 5);
    this.pos += 5 + key.length;
    this.count++;
  }

  reset(): void {
    this.pos = 0;
    this.count = 0;
  }

  /** The packed ops in a buffer of their exact size (safe to transfer). */
  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }

  private reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
}

export interface OpVisitor {
  put(key: Uint8Array, value: Uint8Array): void;
  delete(key: Uint8Array): void;
}

/** Walks packed ops, handing out views into `ops`. Throws RangeError on a malformed buffer. */
export function visitOps(ops: Uint8Array, visitor: OpVisitor): void {
  const view = new DataView(ops.buffer, ops.byteOffset, ops.byteLength);
  let pos = 0;
  while (pos < ops.length) {
    const type = ops[pos]!;
    if (pos + 5 > ops.length) throw new RangeError(`packed batch: op header cut at ${pos}`);
    const keyLength = view.getUint32(pos + 1, true);
    if (type === OpType.Put) {
      if (pos + 9 > ops.length) throw new RangeError(`packed batch: put header cut at ${pos}`);
      const valueLength = view.getUint32(pos + 5, true);
      const end = pos + 9 + keyLength + valueLength;
      if (end > ops.length) throw new RangeError(`packed batch: put cut at ${pos}`);
      visitor.put(ops.subarray(pos + 9, pos + 9 + keyLength), ops.subarray(pos + 9 + keyLength, end));
      pos = end;
    } else if (type === OpType.Delete) {
      const end = pos + 5 + keyLength;
      if (end > ops.length) throw new RangeError(`packed batch: delete cut at ${pos}`);
      visitor.delete(ops.subarray(pos + 5, end));
      pos = end;
    } else {
      throw new RangeError(`packed batch: unknown op type ${type} at ${pos}`);
    }
  }
}

/** Packs items (undefined: length -1) into fresh buffers, safe to transfer. */
export function packItems(items: readonly (Uint8Array | undefined)[]): PackedEntries {
  const lengths = new Int32Array(items.length);
  let total = 0;
  for (let i = 0; i < items.length; i++) {
    const it = items[i];
    lengths[i] = it === undefined ? -1 : it.length;
    if (it !== undefined) total += it.length;
  }
  const data = new Uint8Array(total);
  let pos = 0;
  for (const it of items) {
    if (it === undefined) continue;
    data.set(it, pos);
    pos += it.length;
  }
  return { lengths, data };
}

/** Views of the items packed by packItems (undefined where the length is -1). */
export function unpackItems(p: PackedEntries): (Uint8Array | undefined)[] {
  const out: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(p.lengths.length);
  let pos = 0;
  for (let i = 0; i < p.lengths.length; i++) {
    const n = p.lengths[i]!;
    if (n < 0) {
      out[i] = undefined;
      continue;
    }
    out[i] = p.data.subarray(pos, pos + n);
    pos += n;
  }
  return out;
}

/** A fresh copy of `b` unless it already is the whole of its buffer (then it can be transferred). */
export function ownedBytes(b: Uint8Array): Uint8Array {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer ? b : b.slice();
}
