/**
 * The browser-safe part of the file system layer. `NodeFileSystem` is not re-exported here
 * because it imports `node:fs`: import it from `./node.js`.
 */

export * from './types.js';
export * from './prng.js';
export * from './memory.js';
export * from './fault.js';
