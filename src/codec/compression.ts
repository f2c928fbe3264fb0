/**
 * Block compression. `none` and `snappy` (own encoder and decoder, pure JavaScript; snappyjs
 * stays as the reference the tests check both against). The numeric ids are persisted in table
 * blocks: never renumber them.
 */
import { snappyDecode } from './snappy-decode.js';
import { snappyEncode } from './snappy-encode.js';

export const Compression = {
  None: 0,
  Snappy: 1,
} as const;
export type Compression = (typeof Compression)[keyof typeof Compression];

export type CompressionName = 'none' | 'snappy';

export function compressionFromName(name: CompressionName): Compression {
  return name === 'snappy' ? Compression.Snappy : Compression.None;
}

/** A view into a reused buffer, valid until the next call: copy or write it at once. */
export function snappyCompress(data: Uint8Array): Uint8Array {
  return snappyEncode(data);
}

/** Throws on malformed input; callers wrap the error as corruption with file and offset. */
export function snappyUncompress(data: Uint8Array, maxLength?: number, into?: Uint8Array): Uint8Array {
  return snappyDecode(data, maxLength, into);
}
