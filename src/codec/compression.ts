/**
 * Block compression. `none` and `snappy` (snappyjs, pure JavaScript). The numeric ids are
 * persisted in table blocks: never renumber them.
 */
import { compress } from 'snappyjs';
import { snappyDecode } from './snappy-decode.js';

export const Compression = {
  None: 0,
  Snappy: 1,
} as const;
export type Compression = (typeof Compression)[keyof typeof Compression];

export type CompressionName = 'none' | 'snappy';

export function compressionFromName(name: CompressionName): Compression {
  return name === 'snappy' ? Compression.Snappy : Compression.None;
}

export function snappyCompress(data: Uint8Array): Uint8Array {
  return compress(data);
}

/** Throws on malformed input; callers wrap the error as corruption with file and offset. */
export function snappyUncompress(data: Uint8Array, maxLength?: number): Uint8Array {
  return snappyDecode(data, maxLength);
}
