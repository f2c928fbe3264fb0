/**
 * Persisted constants of the log format shared by WAL files and the manifest (both are a
 * sequence of checksummed records; see docs/wal-format.md). Never renumber; zero is never a
 * valid record type, so a zeroed region is caught.
 */
export const RecordType = {
  // 0 is invalid.
  /** A write batch (WAL) or a version edit (manifest). */
  Data: 1,
  /** First record of every log file: magic, file kind, format version, file number. */
  Header: 2,
} as const;

/** checksum u32 | length u32 | type u8 */
export const RECORD_HEADER_BYTES = 9;
/** Largest record payload accepted on write and on replay (256 MiB). */
export const RECORD_PAYLOAD_MAX = 256 * 1024 * 1024;

export const LOG_MAGIC = 0x5e77_106f; // "sett log"
export const LogKind = {
  Wal: 1,
  Manifest: 2,
} as const;
export type LogKind = (typeof LogKind)[keyof typeof LogKind];
export const LOG_FORMAT_VERSION = 1;
/** magic u32 | kind u8 | format version u8 | file number u64 */
export const LOG_HEADER_PAYLOAD_BYTES = 14;
