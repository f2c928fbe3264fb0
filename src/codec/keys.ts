/**
 * Internal keys.
 *
 *   internal key = user key ‖ trailer (8 bytes)
 *   trailer      = big-endian (VERSION_MAX - version)
 *
 * Versions are integers in [0, VERSION_MAX]. Storing the complement big-endian makes plain byte
 * order of the trailer put newer versions first, so for one user key the newest version is met
 * first by a forward scan. User keys are compared first (as byte strings), trailers second; a
 * plain byte comparison of whole internal keys would be wrong when one user key is a prefix of
 * another, so always use `compareInternal`.
 */
import { compareRange } from './bytes.js';

export const TRAILER_BYTES = 8;
/** Largest version sett hands out: 2^53 - 1, so versions stay exact JavaScript numbers. */
export const VERSION_MAX = Number.MAX_SAFE_INTEGER;

const TWO32 = 0x1_0000_0000;

export function writeTrailer(buf: Uint8Array, pos: number, version: number): void {
  const inv = VERSION_MAX - version;
  const hi = Math.floor(inv / TWO32);
  const lo = inv >>> 0;
  buf[pos] = hi >>> 24;
  buf[pos + 1] = (hi >>> 16) & 0xff;
  buf[pos + 2] = (hi >>> 8) & 0xff;
  buf[pos + 3] = hi & 0xff;
  buf[pos + 4] = lo >>> 24;
  buf[pos + 5] = (lo >>> 16) & 0xff;
  buf[pos + 6] = (lo >>> 8) & 0xff;
  buf[pos + 7] = lo & 0xff;
}

export function readTrailer(buf: Uint8Array, pos: number): number {
  const hi = ((buf[pos]! << 24) | (buf[pos + 1]! << 16) | (buf[pos + 2]! << 8) | buf[pos + 3]!) >>> 0;
  const lo = ((buf[pos + 4]! << 24) | (buf[pos + 5]! << 16) | (buf[pos + 6]! << 8) | buf[pos + 7]!) >>> 0;
  return VERSION_MAX - (hi * TWO32 + lo);
}

export function makeInternalKey(userKey: Uint8Array, version: number): Uint8Array {
  const out = new Uint8Array(userKey.length + TRAILER_BYTES);
  out.set(userKey, 0);
  writeTrailer(out, userKey.length, version);
  return out;
}

export function userKeyOf(ikey: Uint8Array): Uint8Array {
  return ikey.subarray(0, ikey.length - TRAILER_BYTES);
}

export function versionOf(ikey: Uint8Array): number {
  return readTrailer(ikey, ikey.length - TRAILER_BYTES);
}

/** Orders internal keys: user key ascending, then version descending. */
export function compareInternal(a: Uint8Array, b: Uint8Array): number {
  const aUser = a.length - TRAILER_BYTES;
  const bUser = b.length - TRAILER_BYTES;
  const c = compareRange(a, 0, aUser, b, 0, bUser);
  if (c !== 0) return c;
  return compareRange(a, aUser, a.length, b, bUser, b.length);
}

/** Compares the user-key part of internal key `ikey` with user key `user`. */
export function compareUserOfInternal(ikey: Uint8Array, user: Uint8Array): number {
  return compareRange(ikey, 0, ikey.length - TRAILER_BYTES, user, 0, user.length);
}

/** Internal key that sorts before every version of `userKey` visible at `version`... i.e. the
 * seek target for "newest version of userKey that is <= version". */
export function seekKey(userKey: Uint8Array, version: number): Uint8Array {
  return makeInternalKey(userKey, version);
}
