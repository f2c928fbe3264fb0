import { describe, expect, it } from 'vitest';
import { hash32 } from '../../src/codec/checksum.js';
import { BloomBuilder, BloomFilter, bloomBitsPerKey, bloomProbes, xxHash32Range } from '../../src/sstable/bloom.js';
import { utf8 } from '../../src/codec/bytes.js';
import { readFooter } from '../../src/sstable/footer.js';
import { BLOOM_HASH_SEED } from '../../src/sstable/format.js';
import { build, ik, open, opts, put, randomBytes, rng, type Entry } from './sstable-helpers.js';

describe('bloom hash', () => {
  it('the pure-JS xxHash32 gives the same bits as xxhash-wasm', () => {
    const r = rng(3);
    for (let len = 0; len < 100; len++) {
      for (let rep = 0; rep < 20; rep++) {
        const pad = Math.floor(r() * 4);
        const b = randomBytes(r, len + pad * 2);
        const seed = rep === 0 ? BLOOM_HASH_SEED : Math.floor(r() * 2 ** 32);
        expect(xxHash32Range(b, pad, pad + len, seed)).toBe(hash32(b.subarray(pad, pad + len), seed));
      }
    }
  });
});

describe('bloom sizing', () => {
  it('1% gives about 9.6 bits per key and 7 probes', () => {
    expect(bloomBitsPerKey(0.01)).toBeCloseTo(9.585, 2);
    expect(bloomProbes(bloomBitsPerKey(0.01))).toBe(7);
    expect(bloomProbes(bloomBitsPerKey(0.5))).toBe(1);
    expect(bloomProbes(bloomBitsPerKey(1e-12))).toBe(30);
  });

  it('rejects rates outside (0, 1)', () => {
    expect(() => new BloomBuilder(0)).toThrow(RangeError);
    expect(() => new BloomBuilder(1)).toThrow(RangeError);
  });

  it('parse rejects a bad probe count or a block too short', () => {
    expect(typeof BloomFilter.parse(new Uint8Array([0xff, 0]))).toBe('string');
    expect(typeof BloomFilter.parse(new Uint8Array([0xff, 31]))).toBe('string');
    expect(typeof BloomFilter.parse(new Uint8Array([7]))).toBe('string');
    expect(BloomFilter.parse(new Uint8Array([0xff, 3]))).toBeInstanceOf(BloomFilter);
  });
});

describe('bloom false-positive rate', () => {
  for (const rate of [0.01, 0.05]) {
    it(`is within 1.5x of the configured ${rate} on 100k absent keys, with no false negatives`, () => {
      const n = 100_000;
      const r = rng(17);
      // 16-byte user keys: present keys have first byte 0x00, absent ones 0x01.
      const present: Uint8Array[] = [];
      for (let i = 0; i < n; i++) {
        const k = randomBytes(r, 16);
        k[0] = 0;
        present.push(k);
      }
      present.sort(Buffer.compare);
      const entries: Entry[] = [];
      for (let i = 0; i < n; i++) if (i === 0 || Buffer.compare(present[i - 1]!, present[i]!) !== 0) entries.push([ik(present[i]!, 1), put('')]);
      const t = open(build(entries, opts({ bloomFalsePositiveRate: rate })).file);
      for (const [k] of entries) expect(t.mayContain(k.subarray(0, 16))).toBe(true);
      let fp = 0;
      for (let i = 0; i < n; i++) {
        const k = randomBytes(r, 16);
        k[0] = 1;
        if (t.mayContain(k)) fp++;
      }
      const measured = fp / n;
      console.log(`bloom: configured ${rate}, measured ${(measured * 100).toFixed(3)}% false positives over ${n} absent keys`);
      expect(measured).toBeLessThan(rate * 1.5);
      expect(measured).toBeGreaterThan(rate / 1.5);
    });
  }

  it('adds each user key once, however many versions it has', () => {
    const entries: Entry[] = [];
    for (let i = 0; i < 100; i++) for (let v = 10; v > 0; v--) entries.push([ik(`k${String(i).padStart(3, '0')}`, v), put('')]);
    const { file } = build(entries);
    const t = open(file);
    expect(t.properties.entries).toBe(1000);
    // ~9.6 bits per distinct key: 100 keys => 120 bytes + the probe-count byte, not ~1200.
    const footer = readFooter(file, file.size());
    expect(footer.bloom.size).toBe(Math.ceil(Math.ceil(100 * bloomBitsPerKey(0.01)) / 8) + 1);
    for (let i = 0; i < 100; i++) expect(t.mayContain(utf8(`k${String(i).padStart(3, '0')}`))).toBe(true);
  });

  it('a table without a filter says every key may be present', () => {
    const { file } = build([[ik('a', 1), put('')]], opts({ bloomFalsePositiveRate: 0 }));
    expect(readFooter(file, file.size()).bloom).toEqual({ offset: 0, size: 0 });
    expect(open(file).mayContain(utf8('zzz'))).toBe(true);
  });
});
