/**
 * Format version 1, byte for byte: the worked example of docs/table-format.md. If this test
 * fails, the on-disk format changed: bump TABLE_FORMAT_VERSION and keep a reader for version 1
 * instead of editing the expected bytes.
 */
import { describe, expect, it } from 'vitest';
import { utf8 } from '../../src/codec/bytes.js';
import { Compression } from '../../src/codec/compression.js';
import { TableBuilder } from '../../src/sstable/builder.js';
import { readFooter } from '../../src/sstable/footer.js';
import { BlockType, Footer, TABLE_FORMAT_VERSION, TABLE_MAGIC } from '../../src/sstable/format.js';
import { del, ik, MemFile, open, put } from './sstable-helpers.js';
import { EntryKind, encodeValue } from '../../src/codec/value.js';

const V1_EXAMPLE_HEX =
  '000d046170706c65001ffffffffffffd017265640c0101fe02000f0761707269636f74001ffffffffffffa016f72616e6765' +
  '00000000190000000200000010cbc46f150047d00028088320073004bedceb010103020101030105060101070101080129' +
  '09010c040d6170706c65001ffffffffffffd050f61707269636f74001ffffffffffffa40caaf925a000f0261707269636f74' +
  '001ffffffffffffa003e00000000010000002011e9daff8b000000000000001c000000430000000000000009000000510000' +
  '00000000003500000001000000ad155451736574742e737374';

function buildExample(): MemFile {
  const f = new MemFile('example.sst');
  const b = new TableBuilder(f, 7, { blockSize: 4096, restartInterval: 2, bloomFalsePositiveRate: 0.01, compression: Compression.None });
  b.add(ik('apple', 2), put('red'));
  b.add(ik('apple', 1), del());
  b.add(ik('apricot', 5), put('orange'));
  b.finish();
  return f;
}

describe('table format version 1', () => {
  it('the builder writes the documented example byte for byte', () => {
    expect(Buffer.from(buildExample().bytes()).toString('hex')).toBe(V1_EXAMPLE_HEX);
  });

  it('the reader reads the documented example', () => {
    const t = open(MemFile.from(Buffer.from(V1_EXAMPLE_HEX, 'hex'), 'example.sst'), undefined, 7);
    expect(t.meta).toMatchObject({ fileNumber: 7, fileSize: 224, entries: 3, minVersion: 1, maxVersion: 5 });
    expect(t.get(utf8('apple'), 5)).toEqual(put('red'));
    expect(t.get(utf8('apple'), 1)).toEqual(del());
    expect(t.get(utf8('apricot'), 9)).toEqual(put('orange'));
    expect(t.get(utf8('apricot'), 4)).toBeUndefined();
    expect(t.verify()).toEqual([]);
  });

  it('optional property 10 (earliest expiry): written only for a table holding TTL entries; absent reads as 0', () => {
    expect(open(MemFile.from(Buffer.from(V1_EXAMPLE_HEX, 'hex'), 'example.sst'), undefined, 7).properties.minExpiresAt).toBe(0);
    const f = new MemFile('ttl.sst');
    const b = new TableBuilder(f, 8, { blockSize: 4096, restartInterval: 2, bloomFalsePositiveRate: 0.01, compression: Compression.None });
    b.add(ik('a', 3), encodeValue(EntryKind.Put, utf8('x'), 2_000_000_000));
    b.add(ik('b', 2), encodeValue(EntryKind.Put, utf8('y'), 1_700_000_000));
    b.add(ik('c', 1), put('z'));
    b.finish();
    const t = open(f, undefined, 8);
    expect(t.properties.minExpiresAt).toBe(1_700_000_000);
    expect(t.verify()).toEqual([]);
  });

  it('footer layout: handles, version and magic at fixed places', () => {
    const f = buildExample();
    const bytes = f.bytes();
    const footerAt = bytes.length - Footer.bytes;
    expect(Footer.bytes).toBe(52);
    expect(bytes.subarray(bytes.length - 8)).toEqual(TABLE_MAGIC);
    expect(new TextDecoder().decode(TABLE_MAGIC)).toBe('sett.sst');
    expect(bytes[footerAt + Footer.version]).toBe(TABLE_FORMAT_VERSION);
    const footer = readFooter(f, bytes.length);
    expect(footer).toEqual({
      index: { offset: 139, size: 28 },
      bloom: { offset: 67, size: 9 },
      properties: { offset: 81, size: 53 },
      version: 1,
    });
    // Trailer type bytes: block type in the high nibble, compression (none) in the low one.
    expect(bytes[62]).toBe(BlockType.Data << 4);
    expect(bytes[67 + 9]).toBe(BlockType.Bloom << 4);
    expect(bytes[81 + 53]).toBe(BlockType.Properties << 4);
    expect(bytes[139 + 28]).toBe(BlockType.Index << 4);
  });
});
