/** The engines, loaded lazily so a worker imports only the one it runs. */
import type { EngineFactory, EngineId } from './types.js';

export async function loadEngine(id: EngineId): Promise<EngineFactory> {
  switch (id) {
    case 'sett':
      return (await import('./sett.js')).sett;
    case 'leveldb':
      return (await import('./leveldb.js')).leveldb;
    case 'lmdb':
      return (await import('./lmdb.js')).lmdb;
    case 'sqlite':
      return (await import('./sqlite.js')).sqlite;
    case 'memory':
      return (await import('./memory.js')).memory;
  }
}
