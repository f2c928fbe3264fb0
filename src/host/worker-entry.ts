/**
 * Entry of the bundled worker script (`npm run build:browser` → dist/sett-worker.js): the
 * engine host, serving `openInWorker()` from the page. A custom worker does the same by calling
 * `serveWorker()` from 'sett' at its top.
 */
import { serveWorker } from './worker.js';

serveWorker();
