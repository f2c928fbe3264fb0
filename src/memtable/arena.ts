/**
 * The memtable's arena: one preallocated ArrayBuffer seen through a byte view and an Int32 view,
 * handed out from both ends. Skiplist towers are bumped up from the bottom, key and value
 * records down from the top, so the towers a search walks sit densely together and the bulky
 * records stay out of their way (fewer cache and TLB misses). The arena is full when the two
 * ends would cross.
 *
 * Nothing is ever freed on its own; the whole arena is dropped with its memtable. The only way
 * back is `undoLast()`, which gives back the latest allocation (used when an insert is refused
 * after its node was carved out).
 *
 * Both kinds of block are 4-byte aligned. Towers are addressed by their *word* index (byte
 * offset / 4), so an Int32 slot of the arena can hold a pointer and `i32[word]` reads the first
 * slot of a tower; records by their byte offset.
 */

/** Smallest arena accepted: room for the skiplist head and a few entries. */
export const ARENA_BYTES_MIN = 1024;
/**
 * Largest arena accepted: 1 GiB. Word indices stay below 2^28, so `word << 2` never overflows
 * an int32 and byte offsets stay exact in bit arithmetic.
 */
export const ARENA_BYTES_MAX = 1 << 30;

/** Whether arena memory is shared with other threads (where SharedArrayBuffer exists at all). */
export function isSharedMemory(memory: ArrayBuffer | SharedArrayBuffer): boolean {
  return typeof SharedArrayBuffer === 'function' && memory instanceof SharedArrayBuffer;
}

export class Arena {
  /** The arena's memory; `new Uint8Array(memory, offset, length)` makes a cheap view. */
  readonly memory: ArrayBuffer | SharedArrayBuffer;
  /** Byte view of the whole arena. */
  readonly buf: Uint8Array;
  /** Int32 view of the same memory: `i32[w]` is bytes [4w, 4w + 4). */
  readonly i32: Int32Array;
  /** Bytes the arena may hand out in total: the size asked for, rounded down to a multiple of 4. */
  readonly capacity: number;
  /** End of the tower area (bytes); a multiple of 4. Invariant: low <= high <= capacity. */
  private low = 0;
  /** Start of the record area (bytes); a multiple of 4. */
  private high: number;
  /** low and high before the latest allocation, or -1 once undone. */
  private lastLow = -1;
  private lastHigh = -1;

  /**
   * `shared`: allocate a SharedArrayBuffer (where the platform has one), so a worker thread can
   * read the sealed memtable and flush it without a copy. `reuse`: memory of a retired arena of
   * the same size to build on instead (its old contents are never read: the skiplist reads only
   * what it wrote).
   */
  constructor(capacityBytes: number, shared = false, reuse?: ArrayBuffer | SharedArrayBuffer) {
    if (!Number.isSafeInteger(capacityBytes)) {
      throw new RangeError(`arena size must be an integer number of bytes, got ${capacityBytes}`);
    }
    if (capacityBytes < ARENA_BYTES_MIN || capacityBytes > ARENA_BYTES_MAX) {
      throw new RangeError(
        `arena size must be between ${ARENA_BYTES_MIN} and ${ARENA_BYTES_MAX} bytes, got ${capacityBytes}`,
      );
    }
    this.capacity = capacityBytes & ~3;
    if (reuse !== undefined && reuse.byteLength !== this.capacity) throw new RangeError(`reused arena memory has ${reuse.byteLength} bytes, not ${this.capacity}`);
    this.memory = reuse ?? (shared && typeof SharedArrayBuffer === 'function' ? new SharedArrayBuffer(this.capacity) : new ArrayBuffer(this.capacity));
    this.buf = new Uint8Array(this.memory);
    this.i32 = new Int32Array(this.memory);
    this.high = this.capacity;
  }

  /** Bytes handed out so far, from both ends (including alignment padding). */
  get used(): number {
    return this.low + (this.capacity - this.high);
  }

  /** End of the tower area: every tower lies below it. */
  get towerTop(): number {
    return this.low;
  }

  /** Start of the record area: every record lies at or above it. */
  get recordBottom(): number {
    return this.high;
  }

  /**
   * Carves out `towerBytes` from the bottom and `recordBytes` from the top (each rounded up to
   * a multiple of 4). Returns the word index of the tower, or -1 if the arena lacks room for
   * both (nothing changes then); the record starts at `recordBottom`. Blocks are zero unless
   * they were handed out before and given back.
   */
  alloc(towerBytes: number, recordBytes: number): number {
    const low = this.low;
    const high = this.high;
    if (recordBytes > high) return -1;
    const newLow = low + ((towerBytes + 3) & ~3);
    const newHigh = (high - recordBytes) & ~3;
    if (newLow > newHigh) return -1;
    this.lastLow = low;
    this.lastHigh = high;
    this.low = newLow;
    this.high = newHigh;
    return low >> 2;
  }

  /** Gives back the latest allocation. Allowed once per allocation. */
  undoLast(): void {
    if (this.lastLow < 0) throw new Error('sett invariant: arena undo without an allocation to undo');
    this.low = this.lastLow;
    this.high = this.lastHigh;
    this.lastLow = -1;
  }
}
