/**
 * Checking what callers pass in. Keys and values are Uint8Array (a Node Buffer is one) or
 * strings (encoded as UTF-8). Everything else is rejected with a named error before any state
 * changes.
 */
import { utf8 } from '../codec/bytes.js';
import type { Config } from './options.js';
import { ErrInvalidKey, ErrInvalidValue, ErrValueTooLarge } from './errors.js';

export type Bytes = Uint8Array | string;

export function keyBytes(key: unknown, config: Config): Uint8Array {
  let k: Uint8Array;
  if (key instanceof Uint8Array) k = key;
  else if (typeof key === 'string') k = utf8(key);
  else throw new ErrInvalidKey(`key must be a Uint8Array or a string, got ${describe(key)}`);
  if (k.length === 0) throw new ErrInvalidKey('key must not be empty');
  if (k.length > config.keyBytesMax) throw new ErrInvalidKey(`key of ${k.length} bytes is longer than keyBytesMax (${config.keyBytesMax})`);
  return k;
}

export function valueBytes(value: unknown, config: Config): Uint8Array {
  let v: Uint8Array;
  if (value instanceof Uint8Array) v = value;
  else if (typeof value === 'string') v = utf8(value);
  else throw new ErrInvalidValue(`value must be a Uint8Array or a string, got ${describe(value)}`);
  if (v.length > config.valueBytesMax) throw new ErrValueTooLarge(`value of ${v.length} bytes is larger than valueBytesMax (${config.valueBytesMax})`);
  return v;
}

/** A bound key for iterators: like a key, but may be empty. */
export function boundBytes(key: unknown, name: string): Uint8Array {
  if (key instanceof Uint8Array) return key;
  if (typeof key === 'string') return utf8(key);
  throw new ErrInvalidKey(`iterator option ${name} must be a Uint8Array or a string, got ${describe(key)}`);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'an object';
  return typeof v;
}
