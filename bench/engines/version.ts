/** Versions of the packages under test, read from their package.json. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const BENCH = fileURLToPath(new URL('..', import.meta.url));

/** Version of a peer installed in bench/node_modules ('?' if it is not there). */
export function packageVersion(name: string): string {
  try {
    const pkg = JSON.parse(readFileSync(`${BENCH}node_modules/${name}/package.json`, 'utf8')) as { version: string };
    return pkg.version;
  } catch {
    return '?';
  }
}

/** sett's own version (the root package.json). */
export function settVersion(): string {
  const pkg = JSON.parse(readFileSync(`${BENCH}../package.json`, 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * Imports a peer engine by name. The specifier is a plain string, so TypeScript does not try to
 * resolve it: `npm run typecheck` passes without bench/node_modules, and the adapters declare
 * the few calls they use.
 */
export async function importPeer<T>(name: string): Promise<T> {
  const spec: string = name;
  return (await import(spec)) as T;
}
