/**
 * Gives the event loop a turn, so long synchronous jobs (building a table in the foreground
 * thread) do not freeze callers. setImmediate where it exists (Node), else a MessageChannel
 * (browsers and workers), else setTimeout.
 */
type Immediate = (cb: () => void) => unknown;
const g = globalThis as { setImmediate?: Immediate; MessageChannel?: typeof MessageChannel };

export const yieldToEventLoop: () => Promise<void> = (() => {
  const si = g.setImmediate;
  if (typeof si === 'function') return () => new Promise<void>((resolve) => si(resolve));
  const MC = g.MessageChannel;
  if (typeof MC === 'function') {
    const ch = new MC();
    const queue: (() => void)[] = [];
    ch.port1.onmessage = () => queue.shift()?.();
    return () =>
      new Promise<void>((resolve) => {
        queue.push(resolve);
        ch.port2.postMessage(0);
      });
  }
  return () => new Promise<void>((resolve) => setTimeout(resolve, 0));
})();
