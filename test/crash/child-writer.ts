/**
 * Child process of the real crash test: opens the database with sync on and writes as fast as
 * it can from several concurrent writers (single puts and small batches), printing
 * `ack <round> <i>` for every write once it is acknowledged. The parent SIGKILLs it at a random
 * moment. Usage: child-writer.ts DIR ROUND WRITERS
 */
import { open } from '../../src/index.js';
import { crashKey, crashValue } from './crash-values.js';

const [dir, roundArg, writersArg] = process.argv.slice(2);
const round = Number(roundArg);
const writers = Number(writersArg);

const db = await open({ path: dir!, sync: true, memtableSize: 64 * 1024 });
process.stdout.write('ready\n');
let next = 0;
async function writer(w: number): Promise<void> {
  for (;;) {
    const i = next++;
    if (i % 5 === 4) {
      // A small batch: i and two companions; acknowledged as one.
      await db.batch().put(crashKey(round, i), crashValue(round, i)).put(crashKey(round, i, 1), crashValue(round, i, 1)).put(crashKey(round, i, 2), crashValue(round, i, 2)).write();
      process.stdout.write(`ack ${round} ${i} batch\n`);
    } else {
      await db.put(crashKey(round, i), crashValue(round, i));
      process.stdout.write(`ack ${round} ${i}\n`);
    }
    if (w < 0) break;
  }
}
await Promise.all(Array.from({ length: writers }, (_, w) => writer(w)));
