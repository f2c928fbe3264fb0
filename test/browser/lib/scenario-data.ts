/** Keys and values of the restart and crash scenarios, shared by the page and run.ts. */

const te = new TextEncoder();

export function persistKey(i: number): Uint8Array {
  return te.encode(`p:${String(i).padStart(5, '0')}`);
}

export function persistValue(i: number, round: number): Uint8Array {
  return te.encode(`persisted ${i} round ${round} `.padEnd(40 + (i % 60), '.'));
}

/** What the restart scenario's main database holds after 'persist:write'. */
export function persistExpected(): [string, string][] {
  const td = new TextDecoder();
  const out: [string, string][] = [];
  for (let i = 0; i < 3000; i++) {
    if (i % 11 === 0 && !((i - 5) % 13 === 0 && i >= 5)) continue;
    const round = i >= 5 && (i - 5) % 13 === 0 ? 1 : 0;
    out.push([td.decode(persistKey(i)), td.decode(persistValue(i, round))]);
  }
  return out;
}

/** Key of write `i` of crash round `round` (`sub` 1 and 2: a batch's companions). */
export function crashKey(round: number, i: number, sub = 0): Uint8Array {
  return te.encode(`r${round}:${String(i).padStart(7, '0')}:${sub}`);
}

/** 100 to 700 bytes, so that 64 KiB memtables rotate and flush every few hundred writes. */
export function crashValue(round: number, i: number, sub = 0): Uint8Array {
  const head = `v${round}.${i}.${sub}|`;
  return te.encode(head.padEnd(100 + ((i * 37 + sub * 11) % 600), String.fromCharCode(97 + (i % 26))));
}
