/**
 * The memtable's arena: one preallocated ArrayBuffer seen through a byte view and an Int32 view,
 * handed out from both ends. Skiplist nodes are bumped up from the bottom, value bytes down
 * from the top, so the nodes a search walks sit densely together and the bulky values stay out
 * of their way (fewer cache and TLB misses). The arena is full when the two ends would cross.
 *
 * Nothing is ever freed on its own; the whole arena is dropped with its memtable. The only way
 * back is `undoLast()`, which gives back the latest allocation (used when an insert is refused
 * after its node was carved out).
 *
 * Nodes are 4-byte aligned and addressed by their *word* index (byte offset / 4), so an Int32
 * slot of the arena can hold a pointer and `i32[word]` reads the first slot of a node. Value
 * blocks are unaligned and addressed by byte offset.
 */

/** Smallest arena accepted: room for the skiplist head and a few entries. */
export const ARENA_BYTES_MIN = 1024;
/**
 * Largest arena accepted: 1 GiB. Word indices stay below 2^28, so `word << 2` never overflows
 * an int32 and byte offsets stay exact in bit arithmetic.
 */
export const ARENA_BYTES_MAX = 1 << 30;

export class Arena {
  /** Byte view of the whole arena. */
  readonly buf: Uint8Array;
  /** Int32 view of the same memory: `i32[w]` is bytes [4w, 4w + 4). */
  readonly i32: Int32Array;
  /** Bytes the arena may hand out in total (the size asked for). */
  readonly capacity: number;
  /** End of the node area (bytes); a multiple of 4. Invariant: low <= high <= capacity. */
  private low = 0;
  /** Start of the value area (bytes). */
  private high: number;
  /** low and high before the latest allocation, or -1 once undone. */
  private lastLow = -1;
  private lastHigh = -1;

  constructor(capacityBytes: number) {
    if (!Number.isSafeInteger(capacityBytes)) {
      throw new RangeError(`arena size must be an integer number of bytes, got ${capacityBytes}`);
    }
    if (capacityBytes < ARENA_BYTES_MIN || capacityBytes > ARENA_BYTES_MAX) {
      throw new RangeError(
        `arena size must be between ${ARENA_BYTES_MIN} and ${ARENA_BYTES_MAX} bytes, got ${capacityBytes}`,
      );
    }
    const memory = new ArrayBuffer((capacityBytes + 3) & ~3);
    this.buf = new Uint8Array(memory);
    this.i32 = new Int32Array(memory);
    this.capacity = capacityBytes;
    this.high = capacityBytes;
  }

  /** Bytes handed out so far, from both ends (including alignment padding). */
  get used(): number {
    return this.low + (this.capacity - this.high);
  }

  /** End of the node area: every node lies below it. */
  get nodeTop(): number {
    return this.low;
  }

  /** Start of the value area: every value block lies at or above it. */
  get valueBottom(): number {
    return this.high;
  }

  /**
   * Carves out `nodeBytes` (rounded up to a multiple of 4) from the bottom and `valueBytes`
   * from the top. Returns the word index of the node, or -1 if the arena lacks room for both
   * (nothing changes then); the value block starts at `valueBottom`. Blocks are zero unless
   * they were handed out before and given back.
   */
  alloc(nodeBytes: number, valueBytes: number): number {
    const low = this.low;
    const high = this.high;
    const newLow = low + ((nodeBytes + 3) & ~3);
    const newHigh = high - valueBytes;
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
