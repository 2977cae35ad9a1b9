/**
 * Starting one vecseal worker. The browser branch keeps the literal
 * `new Worker(new URL('./seal-worker.js', import.meta.url), { type: 'module' })` so bundlers (Vite,
 * webpack, esbuild) find the worker entry and emit it; Node starts a worker_thread on the same file.
 */
import { isNode, spawnNodeWorker, wrapBrowserWorker, type SpawnedWorker } from './endpoint.js';

export function spawnSealWorker(): SpawnedWorker | Promise<SpawnedWorker> {
  if (isNode()) return spawnNodeWorker(new URL('./seal-worker.js', import.meta.url));
  return wrapBrowserWorker(new Worker(new URL('./seal-worker.js', import.meta.url), { type: 'module', name: 'vecseal' }));
}
