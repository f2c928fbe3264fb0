/**
 * @internal Request and reply over one MessagePort (see protocol.ts): ids, pending promises,
 * errors rebuilt with their classes. A crashed worker fails every pending and later call.
 */
import type { Reply, RequestBody } from './protocol.js';
import { fromWireError } from './wire-error.js';

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };

export class Channel {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private broken: Error | undefined;

  constructor(private readonly port: MessagePort) {
    port.onmessage = (e: MessageEvent) => this.receive(e.data as Reply);
    port.start();
  }

  call<T>(req: RequestBody, transfer: Transferable[] = []): Promise<T> {
    if (this.broken !== undefined) return Promise.reject(this.broken);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      try {
        this.port.postMessage({ ...req, id }, transfer);
      } catch (e) {
        this.pending.delete(id);
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  }

  /** Fails every pending call and every later one with `error`. */
  break(error: Error): void {
    this.broken ??= error;
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(this.broken);
  }

  close(): void {
    this.port.close();
  }

  private receive(r: Reply): void {
    const p = this.pending.get(r.id);
    if (p === undefined) return;
    this.pending.delete(r.id);
    if (r.ok) p.resolve(r.value);
    else p.reject(fromWireError(r.error));
  }
}
