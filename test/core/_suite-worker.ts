/**
 * Module worker that runs the whole portable core suite inside the worker and posts one result per
 * case (core-worker.browser.test.ts checks them).
 */
import { loadCore } from '../../src/core/index.js';
import { coreCases } from './_suite.js';

self.onmessage = async () => {
  const inWorker = typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== 'undefined' && typeof (globalThis as { document?: unknown }).document === 'undefined';
  const results: { name: string; ok: boolean; error?: string }[] = [];
  try {
    const core = await loadCore();
    for (const c of coreCases) {
      try {
        await c.run(core);
        results.push({ name: c.name, ok: true });
      } catch (err) {
        results.push({ name: c.name, ok: false, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
      }
    }
  } catch (err) {
    results.push({ name: 'loadCore', ok: false, error: String(err) });
  }
  postMessage({ inWorker, results });
};
