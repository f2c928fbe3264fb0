import { beforeAll } from 'vitest';
import { initChecksum } from '../src/codec/checksum.js';

beforeAll(async () => {
  await initChecksum();
});
