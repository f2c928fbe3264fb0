/**
 * Persisted constants of the table format (docs/table-format.md). Every number here is on disk:
 * never renumber one; a retired value stays as a comment. Zero is never a valid type or tag, so
 * a zeroed block or footer is caught.
 */

/** Last 8 bytes of every table: ASCII "sett.sst". */
export const TABLE_MAGIC: Readonly<Uint8Array> = Uint8Array.of(0x73, 0x65, 0x74, 0x74, 0x2e, 0x73, 0x73, 0x74);

export const TableFormatVersion = {
  V1: 1,
} as const;
export type TableFormatVersion = (typeof TableFormatVersion)[keyof typeof TableFormatVersion];

/** The version this build writes (and the only one it reads). */
export const TABLE_FORMAT_VERSION: TableFormatVersion = TableFormatVersion.V1;

/**
 * Block types: the high nibble of a block's trailer byte. The low nibble is the compression id
 * (codec/compression.ts), so the byte is never zero.
 */
export const BlockType = {
  Data: 1,
  Index: 2,
  Bloom: 3,
  Properties: 4,
} as const;
export type BlockType = (typeof BlockType)[keyof typeof BlockType];

/** Every block is followed by: type byte (u8) | xxHash32 of (contents ‖ type byte) (u32 LE). */
export const BlockTrailer = {
  typeByte: 0,
  checksum: 1,
  bytes: 5,
} as const;

export function trailerTypeByte(type: BlockType, compression: number): number {
  return (type << 4) | compression;
}

/**
 * Footer: the last `Footer.bytes` bytes of the file. Offsets are from the footer's start; all
 * fields little-endian. A handle's size excludes the block trailer. An absent bloom block has
 * offset 0 and size 0. `version` and `magic` keep their places relative to the end of the file
 * in every future version, so any reader can tell an unknown version from damage.
 */
export const Footer = {
  indexOffset: 0, // u64
  indexSize: 8, // u32
  bloomOffset: 12, // u64
  bloomSize: 20, // u32
  propsOffset: 24, // u64
  propsSize: 32, // u32
  version: 36, // u32
  checksum: 40, // u32: xxHash32 of footer bytes [0, 40)
  magic: 44, // 8 bytes
  bytes: 52,
} as const;

/**
 * Properties block: a sequence of (tag varint, length varint, bytes). Numbers are varints inside
 * their bytes. Readers skip tags they do not know; the required ones must all be present.
 */
export const PropertyTag = {
  Entries: 1, // varint: number of entries (all versions, tombstones included)
  MinVersion: 2, // varint
  MaxVersion: 3, // varint
  SmallestKey: 4, // bytes: smallest internal key
  LargestKey: 5, // bytes: largest internal key
  DataBlocks: 6, // varint: number of data blocks (= index entries)
  Tombstones: 7, // varint: entries whose value kind is Delete
  RawKeyBytes: 8, // varint: sum of internal key lengths
  RawValueBytes: 9, // varint: sum of encoded value lengths
  MinExpiresAt: 10, // varint, optional: earliest expiry (unix seconds) of an entry with a TTL
  MaxExpiresAt: 11, // varint, optional: latest expiry (unix seconds) of an entry with a TTL
  ExpiringEntries: 12, // varint, optional: entries with a TTL
} as const;
export type PropertyTag = (typeof PropertyTag)[keyof typeof PropertyTag];

/** Seed of the bloom filter's xxHash32 (distinct from the checksum seed). */
export const BLOOM_HASH_SEED = 0x5e77_b100;
/** Largest probe count a bloom block may declare; more is treated as damage. */
export const BLOOM_PROBES_MAX = 30;
/** Smallest bit array a bloom filter gets, so that tiny tables still filter well. */
export const BLOOM_BITS_MIN = 64;
