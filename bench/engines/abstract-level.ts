/** Scan and seek over any abstract-level database (classic-level, memory-level). */

export interface LevelIterator {
  nextv(size: number): Promise<[Uint8Array, Uint8Array][]>;
  close(): Promise<void>;
}

export interface LevelIterable {
  iterator(options: { gte?: Uint8Array; limit?: number; reverse?: boolean }): LevelIterator;
}

const SCAN_CHUNK = 1000;

export async function scanLevel(db: LevelIterable, reverse: boolean): Promise<{ entries: number; bytes: number }> {
  const it = db.iterator({ reverse });
  let entries = 0;
  let bytes = 0;
  for (;;) {
    const chunk = await it.nextv(SCAN_CHUNK);
    if (chunk.length === 0) break;
    for (const [k, v] of chunk) bytes += k.length + v.length;
    entries += chunk.length;
  }
  await it.close();
  return { entries, bytes };
}

export async function seekLevel(db: LevelIterable, key: Uint8Array, n: number): Promise<number> {
  const it = db.iterator({ gte: key, limit: n });
  const got = await it.nextv(n);
  await it.close();
  return got.length;
}
