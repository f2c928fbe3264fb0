/**
 * Record framing for log files (WAL and manifest):
 *
 *   checksum u32 LE | length u32 LE | type u8 | payload (length bytes)
 *
 * The checksum is xxHash32 over type ‖ payload... and the length, so a damaged length is caught
 * too: it covers bytes [4, 9 + length). A file starts with one Header record (magic, kind,
 * format version, file number); the reader checks it before anything else.
 *
 * Reading stops at the first record that fails. What follows decides what it means:
 *   - a valid record after it: real corruption in the middle of the log (ErrCorruption);
 *   - nothing valid after it, and the failed record is what a crash during an append leaves
 *     (cut short: it runs past the end of the file, and not merely because its length field is
 *     damaged; or zeros): a torn tail; the reader reports the offset so the caller can cut it;
 *   - nothing valid after it, but the last record is complete and fails its checksum: it was
 *     written whole and damaged since, possibly after it was synced and acknowledged, so it
 *     is ErrCorruption, not a tail to cut (LevelDB's paranoid choice; cutting would silently
 *     lose an acknowledged write).
 */
import { ErrCorruption } from '../api/errors.js';
import { getU32, getU64, putU32, putU64 } from '../codec/bytes.js';
import { checksum } from '../codec/checksum.js';
import {
  LOG_FORMAT_VERSION,
  LOG_HEADER_PAYLOAD_BYTES,
  LOG_MAGIC,
  type LogKind,
  RECORD_HEADER_BYTES,
  RECORD_PAYLOAD_MAX,
  RecordType,
} from './format.js';

/** Bytes a record with `payloadLength` bytes of payload occupies. */
export function recordSize(payloadLength: number): number {
  return RECORD_HEADER_BYTES + payloadLength;
}

/**
 * Frames a record into `buf` at `pos`. The payload must already be at `pos + 9`
 * (callers encode it in place to avoid a copy). Returns the position after the record.
 */
export function frameRecordInPlace(buf: Uint8Array, pos: number, type: number, payloadLength: number): number {
  putU32(buf, pos + 4, payloadLength);
  buf[pos + 8] = type;
  const sum = checksum(buf.subarray(pos + 4, pos + RECORD_HEADER_BYTES + payloadLength));
  putU32(buf, pos, sum);
  return pos + RECORD_HEADER_BYTES + payloadLength;
}

export function encodeRecord(type: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(RECORD_HEADER_BYTES + payload.length);
  out.set(payload, RECORD_HEADER_BYTES);
  frameRecordInPlace(out, 0, type, payload.length);
  return out;
}

export function encodeLogHeader(kind: LogKind, fileNumber: number): Uint8Array {
  const payload = new Uint8Array(LOG_HEADER_PAYLOAD_BYTES);
  putU32(payload, 0, LOG_MAGIC);
  payload[4] = kind;
  payload[5] = LOG_FORMAT_VERSION;
  putU64(payload, 6, fileNumber);
  return encodeRecord(RecordType.Header, payload);
}

/** Result of checking one record at an offset. */
export interface RecordView {
  type: number;
  payloadStart: number;
  payloadEnd: number;
  /** Offset just after the record. */
  end: number;
}

/** Checks the record at `pos`; returns undefined when it is not a complete valid record. */
export function recordAt(data: Uint8Array, pos: number, end: number): RecordView | undefined {
  if (pos + RECORD_HEADER_BYTES > end) return undefined;
  const length = getU32(data, pos + 4);
  if (length > RECORD_PAYLOAD_MAX || pos + RECORD_HEADER_BYTES + length > end) return undefined;
  const type = data[pos + 8]!;
  if (type !== RecordType.Data && type !== RecordType.Header) return undefined;
  const stored = getU32(data, pos);
  const sum = checksum(data.subarray(pos + 4, pos + RECORD_HEADER_BYTES + length));
  if (sum !== stored) return undefined;
  return { type, payloadStart: pos + RECORD_HEADER_BYTES, payloadEnd: pos + RECORD_HEADER_BYTES + length, end: pos + RECORD_HEADER_BYTES + length };
}

/** True if any valid record starts somewhere in (from, end). Used only on the damaged path. */
export function validRecordAfter(data: Uint8Array, from: number, end: number): number {
  for (let p = from + 1; p + RECORD_HEADER_BYTES <= end; p++) {
    // Cheap filters before the checksum: a plausible type and length.
    const type = data[p + 8];
    if (type !== RecordType.Data && type !== RecordType.Header) continue;
    const length = getU32(data, p + 4);
    if (p + RECORD_HEADER_BYTES + length > end) continue;
    if (recordAt(data, p, end) !== undefined) return p;
  }
  return -1;
}

/**
 * Tails up to this size are also searched for a record that begins inside them but was itself
 * cut short (see `isTornTail`): every byte 1 (a data record's type) there is a candidate, so
 * the search hashes up to about the square of the tail's size over 512 bytes (8 MiB at 64 KiB);
 * longer tails check only records that fit in the file, and cut ones that the log's
 * `RecordSuccession` (if it has one) recognises as the next record.
 */
const DAMAGED_LENGTH_SEARCH_MAX = 64 * 1024;

/**
 * Whether the record whose payload starts at `next` (possibly cut short at `end`) is the one
 * written right after the record whose payload starts at `prev`, by what the payloads say (the
 * WAL's batch versions: wal/batch.ts `walRecordFollows`). It lets the damaged-length search
 * test cut records in tails of any size, one checksum per recognised candidate.
 */
export type RecordSuccession = (data: Uint8Array, prev: number, next: number, end: number) => boolean;

/** Whether the record at `from`, with its length field set to end it at `end`, passes its checksum. */
function passesEndingAt(data: Uint8Array, from: number, end: number): boolean {
  const fixed = data.slice(from + 4, end);
  putU32(fixed, 0, end - from - RECORD_HEADER_BYTES);
  return checksum(fixed) === getU32(data, from);
}

/**
 * Whether the bytes from `from` to the end are what a crash during an append leaves: fewer
 * bytes than a header, zeros, or a record that runs past the end of the file. A record runs
 * past the end too when it was written whole and its length field was damaged since; then some
 * shorter length makes its checksum pass (2^-32 by chance): the one that ends it at the end of
 * the file (it was the last record), or one that ends it where the header of a later record
 * begins (records after it damaged or cut as well, the cut possibly inside that header). Those
 * are tried; if one passes, the tail is damage, not a crash's leftover.
 */
export function isTornTail(data: Uint8Array, from: number, follows?: RecordSuccession): boolean {
  const end = data.length;
  const rest = end - from;
  if (rest < RECORD_HEADER_BYTES) return true;
  if (RECORD_HEADER_BYTES + getU32(data, from + 4) <= rest) return data.subarray(from).every((b) => b === 0);
  if (passesEndingAt(data, from, end)) return false;
  const searchCut = rest <= DAMAGED_LENGTH_SEARCH_MAX;
  for (let q = from + RECORD_HEADER_BYTES; q + RECORD_HEADER_BYTES <= end; q++) {
    // A later record's header: a data record that fits in the file, or one cut short at its
    // end (in short tails any such header; in longer ones only one whose payload `follows`
    // recognises as the next record's). Random payload bytes pass these filters rarely, so a
    // genuine torn tail costs about one pass over it.
    if (data[q + 8] !== RecordType.Data) continue;
    const fits = q + RECORD_HEADER_BYTES + getU32(data, q + 4) <= end;
    if (!fits && !searchCut && !(follows?.(data, from + RECORD_HEADER_BYTES, q + RECORD_HEADER_BYTES, end) ?? false)) continue;
    if (passesEndingAt(data, from, q)) return false;
  }
  // A later record cut inside its header: fewer than 9 bytes of it, nothing to filter on, so
  // each of the last 8 offsets is tried (8 more checksums, on the damaged path only).
  for (let q = Math.max(from + RECORD_HEADER_BYTES, end - RECORD_HEADER_BYTES + 1); q < end; q++) {
    if (passesEndingAt(data, from, q)) return false;
  }
  return true;
}

export interface LogScan {
  /** Valid data records in order (payload views into `data`). */
  records: Uint8Array[];
  /** Offset just after the last valid record: where the file may be cut. */
  validEnd: number;
  /** True if bytes after validEnd were ignored as a torn tail. */
  tornTail: boolean;
  fileNumber: number;
}

/**
 * Parses a whole log file. Throws ErrCorruption for a bad header or a damaged record followed by
 * a valid one. A file shorter than a header (crash right after creation) is an empty log with a
 * torn tail. `follows`: see RecordSuccession (the WAL passes its own).
 */
export function scanLog(data: Uint8Array, path: string, kind: LogKind, follows?: RecordSuccession): LogScan {
  const end = data.length;
  const records: Uint8Array[] = [];
  let pos = 0;
  let fileNumber = -1;
  const head = recordAt(data, 0, end);
  if (head === undefined) {
    if (validRecordAfter(data, 0, end) >= 0) throw new ErrCorruption('log header is damaged but later records are valid', { file: path, offset: 0 });
    if (!isTornTail(data, 0)) throw new ErrCorruption('log header is complete but fails its checksum', { file: path, offset: 0 });
    return { records, validEnd: 0, tornTail: end > 0, fileNumber };
  }
  if (head.type !== RecordType.Header || head.payloadEnd - head.payloadStart !== LOG_HEADER_PAYLOAD_BYTES) {
    throw new ErrCorruption('log file does not start with a header record', { file: path, offset: 0 });
  }
  const hp = head.payloadStart;
  if (getU32(data, hp) !== LOG_MAGIC) throw new ErrCorruption('bad log magic number', { file: path, offset: hp });
  if (data[hp + 4] !== kind) throw new ErrCorruption(`log file kind ${data[hp + 4]} where ${kind} was expected`, { file: path, offset: hp + 4 });
  if (data[hp + 5] !== LOG_FORMAT_VERSION) {
    throw new ErrCorruption(`unsupported log format version ${data[hp + 5]} (this sett reads version ${LOG_FORMAT_VERSION})`, { file: path, offset: hp + 5 });
  }
  fileNumber = getU64(data, hp + 6);
  pos = head.end;
  while (pos < end) {
    const r = recordAt(data, pos, end);
    if (r === undefined) {
      const next = validRecordAfter(data, pos, end);
      if (next >= 0) {
        throw new ErrCorruption(`damaged log record followed by a valid record at offset ${next}`, { file: path, offset: pos });
      }
      if (!isTornTail(data, pos, follows)) throw new ErrCorruption('the last log record is complete but fails its checksum (damaged after it was written)', { file: path, offset: pos });
      return { records, validEnd: pos, tornTail: true, fileNumber };
    }
    if (r.type !== RecordType.Data) throw new ErrCorruption('unexpected header record inside a log', { file: path, offset: pos });
    records.push(data.subarray(r.payloadStart, r.payloadEnd));
    pos = r.end;
  }
  return { records, validEnd: pos, tornTail: false, fileNumber };
}
