/**
 * Node's memory probe for the stream: the process's resident set size, sampled every 50 ms by a
 * small worker thread, so sampling goes on while the main thread is busy packing or sealing (a
 * timer on the main thread would only fire between its tasks). RSS counts every thread: the main
 * thread, vecseal's workers and their WebAssembly memories, and ArrayBuffers outside the JS heap.
 */
import { Worker } from 'node:worker_threads';
import type { MemoryProbe } from './stream.js';

const SAMPLE_MS = 50;

/** Marks node-stream.ts's result line on its stdout. */
export const STREAM_RESULT_MARK = '@@vecseal-e2e-stream@@';

/** Slots of the shared array: peak bytes, sample count, sampling on (1) or off (0). */
const SAMPLER = `
const { workerData } = require('node:worker_threads');
const a = new BigInt64Array(workerData);
setInterval(() => {
  if (Atomics.load(a, 2) !== 1n) return;
  const rss = BigInt(process.memoryUsage.rss());
  if (rss > Atomics.load(a, 0)) Atomics.store(a, 0, rss);
  Atomics.add(a, 1, 1n);
}, ${SAMPLE_MS});
`;

export interface NodeMemoryProbe extends MemoryProbe {
  close(): Promise<void>;
}

export function rssProbe(): NodeMemoryProbe {
  const shared = new SharedArrayBuffer(3 * 8);
  const state = new BigInt64Array(shared);
  const worker = new Worker(SAMPLER, { eval: true, workerData: shared });
  worker.unref();
  return {
    kind: 'process RSS',
    current: () => process.memoryUsage.rss(),
    startPeak() {
      Atomics.store(state, 0, BigInt(process.memoryUsage.rss()));
      Atomics.store(state, 1, 0n);
      Atomics.store(state, 2, 1n);
      return async () => {
        Atomics.store(state, 2, 0n);
        const last = process.memoryUsage.rss();
        return { peakBytes: Math.max(Number(Atomics.load(state, 0)), last), samples: Number(Atomics.load(state, 1)) };
      };
    },
    async close() {
      await worker.terminate();
    },
  };
}
