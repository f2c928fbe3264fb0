/** Keys and values of the real crash test, derived from (round, i, part) so they can be checked. */
import { utf8 } from '../../src/codec/bytes.js';

export function crashKey(round: number, i: number, part = 0): Uint8Array {
  return utf8(`r${String(round).padStart(3, '0')}/k${String(i).padStart(8, '0')}/${part}`);
}

export function crashValue(round: number, i: number, part = 0): Uint8Array {
  const v = new Uint8Array(40 + ((i * 31 + part) % 200));
  let x = (round * 1_000_003 + i * 7919 + part * 104_729) >>> 0 || 1;
  for (let j = 0; j < v.length; j++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    v[j] = x & 0xff;
  }
  return v;
}

/** Parses a key written by crashKey. */
export function parseCrashKey(s: string): { round: number; i: number; part: number } | undefined {
  const m = /^r(\d{3})\/k(\d{8})\/(\d)$/.exec(s);
  return m === null ? undefined : { round: Number(m[1]), i: Number(m[2]), part: Number(m[3]) };
}
