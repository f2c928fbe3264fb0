import { EntryKind, encodeValue } from '../src/codec/value.js';
import { compareBytes } from '../src/codec/bytes.js';
import { Memtable } from '../src/memtable/index.js';
const n = 500000;
const keys: Uint8Array[] = []; const all = new Uint8Array(n*16); for (let i=0;i<all.length;i++) all[i]=(Math.random()*256)|0;
for (let i=0;i<n;i++) keys.push(all.subarray(i*16,i*16+16));
const enc = encodeValue(EntryKind.Put, new Uint8Array(100));
const mt = new Memtable(1<<27);
for (let i=0;i<n;i++) mt.add(keys[i]!, i+1, enc);
const sorted = [...keys].sort(compareBytes);
for (let r=0;r<3;r++){
  for (const [name, ks] of [['random', keys], ['sorted', sorted]] as const) {
    let t=performance.now(); let f=0;
    for (let i=0;i<n;i++) if (mt.get(ks[i]!, n+1)!==undefined) f++;
    console.log(name, (n/(performance.now()-t)/1000).toFixed(2)+'M/s', f);
  }
}
