/**
 * The portable core suite inside a module Worker of each browser: the core must load from its
 * embedded bytes (no fetch of a side file) and pass every case there too.
 */
import { describe, expect, it } from 'vitest';
import { coreCases } from './_suite.js';

describe('vecseal/core in a module Worker', () => {
  it('passes every core case inside the worker', async () => {
    const worker = new Worker(new URL('./_suite-worker.ts', import.meta.url), { type: 'module' });
    try {
      const result = await new Promise<{ inWorker: boolean; results: { name: string; ok: boolean; error?: string }[] }>((resolve, reject) => {
        worker.onmessage = (e) => resolve(e.data);
        worker.onerror = (e) => reject(new Error(`worker error: ${e.message}`));
        worker.postMessage('run');
      });
      expect(result.inWorker).toBe(true);
      const failed = result.results.filter((r) => !r.ok);
      expect(failed).toEqual([]);
      expect(result.results.map((r) => r.name)).toEqual(coreCases.map((c) => c.name));
    } finally {
      worker.terminate();
    }
  });
});
