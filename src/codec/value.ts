/**
 * Entry values as stored in the WAL, the memtable and tables:
 *
 *   meta (1 byte) | [expiresAt varint, if meta & EXPIRES] | [userMeta u8, if meta & USER_META] | value bytes
 *
 * The low 3 bits of meta are the entry kind; zero is not a kind, so a zeroed entry is caught.
 * The numbers are persisted: never renumber them.
 */
import { getVarint, putVarint, varintLength } from './varint.js';

export const EntryKind = {
  Put: 1,
  Delete: 2,
  // 3 is reserved for value-log pointers (vlog/).
} as const;
export type EntryKind = (typeof EntryKind)[keyof typeof EntryKind];

export const MetaFlag = {
  KindMask: 0x07,
  Expires: 0x08,
  UserMeta: 0x10,
} as const;

export interface DecodedValue {
  kind: number;
  /** Seconds since the epoch after which the entry is invisible; 0 = never. */
  expiresAt: number;
  userMeta: number;
  /** Start of the user value inside the encoded bytes. */
  valueStart: number;
}

export function encodedValueLength(valueLen: number, expiresAt = 0, hasUserMeta = false): number {
  return 1 + (expiresAt > 0 ? varintLength(expiresAt) : 0) + (hasUserMeta ? 1 : 0) + valueLen;
}

/** Encodes a put or delete into `buf` at `pos`; returns the position after it. */
export function writeEncodedValue(
  buf: Uint8Array,
  pos: number,
  kind: EntryKind,
  value: Uint8Array | undefined,
  expiresAt = 0,
  userMeta = -1,
): number {
  let meta: number = kind;
  if (expiresAt > 0) meta |= MetaFlag.Expires;
  if (userMeta >= 0) meta |= MetaFlag.UserMeta;
  buf[pos++] = meta;
  if (expiresAt > 0) pos = putVarint(buf, pos, expiresAt);
  if (userMeta >= 0) buf[pos++] = userMeta;
  if (value !== undefined) {
    buf.set(value, pos);
    pos += value.length;
  }
  return pos;
}

export function encodeValue(kind: EntryKind, value: Uint8Array | undefined, expiresAt = 0, userMeta = -1): Uint8Array {
  const out = new Uint8Array(encodedValueLength(value?.length ?? 0, expiresAt, userMeta >= 0));
  writeEncodedValue(out, 0, kind, value, expiresAt, userMeta);
  return out;
}

/** Kind of an encoded value (cheap: one byte). */
export function kindOf(encoded: Uint8Array): number {
  return encoded[0]! & MetaFlag.KindMask;
}

const cursor = { pos: 0 };

/**
 * Decodes the header of an encoded value. Returns undefined when the bytes are not a valid
 * encoded value (the caller reports corruption with its own file and offset).
 */
export function decodeValueHeader(encoded: Uint8Array, out: DecodedValue): DecodedValue | undefined {
  if (encoded.length === 0) return undefined;
  const meta = encoded[0]!;
  const kind = meta & MetaFlag.KindMask;
  if (kind !== EntryKind.Put && kind !== EntryKind.Delete) return undefined;
  if ((meta & ~(MetaFlag.KindMask | MetaFlag.Expires | MetaFlag.UserMeta)) !== 0) return undefined;
  let pos = 1;
  let expiresAt = 0;
  if (meta & MetaFlag.Expires) {
    cursor.pos = pos;
    expiresAt = getVarint(encoded, cursor);
    if (expiresAt < 0) return undefined;
    pos = cursor.pos;
  }
  let userMeta = 0;
  if (meta & MetaFlag.UserMeta) {
    if (pos >= encoded.length) return undefined;
    userMeta = encoded[pos++]!;
  }
  out.kind = kind;
  out.expiresAt = expiresAt;
  out.userMeta = userMeta;
  out.valueStart = pos;
  return out;
}

/** The user value of an encoded put with no optional fields: the common fast path. */
export function plainValueOf(encoded: Uint8Array): Uint8Array | undefined {
  if (encoded[0] === EntryKind.Put) return encoded.subarray(1);
  return undefined;
}
