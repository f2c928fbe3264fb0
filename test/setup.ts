import { beforeAll } from 'vitest';
import { initChecksum } from '../src/codec/checksum.js';
import { setScratchPoison } from '../src/sstable/scratch.js';

beforeAll(async () => {
  await initChecksum();
});

// Every test runs with the scratch pool poisoned: memory handed back to it is overwritten, so a
// use after give-back (or a read of a taken buffer before it was written) fails a test instead
// of passing by luck (src/sstable/scratch.ts).
setScratchPoison(true);
