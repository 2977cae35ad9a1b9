/**
 * The worker pool.test.ts drives, in Node (a worker_thread started through the tsx bootstrap) and in
 * browsers (a module Worker). Each method exercises one behaviour of the pool.
 */
import { InvalidInputError, ProviderError } from '../../src/errors.js';
import { exposeInWorker, isNode } from '../../src/worker/endpoint.js';

/** Tells workers apart, so tests can see which one ran a task and that a crashed one was replaced. */
const workerId = crypto.randomUUID();
let startIndex: number | undefined;
let tag = '';
let inFlight = 0;
let maxInFlight = 0;

const api = {
  /** What onStart calls. */
  init(index: number): void {
    startIndex = index;
  },
  state(): { workerId: string; startIndex: number | undefined; tag: string; maxInFlight: number } {
    return { workerId, startIndex, tag, maxInFlight };
  },
  setTag(value: string): void {
    tag = value;
  },
  /** Resolves with `value` after `ms`, counting how many calls run at once in this worker. */
  async sleep(ms: number, value: unknown): Promise<unknown> {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      await new Promise((resolve) => setTimeout(resolve, ms));
      return value;
    } finally {
      inFlight--;
    }
  },
  inFlight(): number {
    return inFlight;
  },
  sum(bytes: Uint8Array): number {
    return bytes.reduce((total, b) => total + b, 0);
  },
  /** Dies in the middle of the call: 'exit' ends the worker (process.exit / close()), 'throw' leaves an uncaught error. */
  crash(how: 'exit' | 'throw'): Promise<never> {
    if (how === 'throw') {
      setTimeout(() => {
        throw new Error('uncaught failure in the test worker');
      });
    } else if (isNode()) {
      setTimeout(() => process.exit(3));
    } else {
      setTimeout(() => (globalThis as unknown as { close(): void }).close());
    }
    return new Promise<never>(() => {});
  },
  fail(kind: 'invalid' | 'provider' | 'plain' | 'string'): never {
    switch (kind) {
      case 'invalid':
        throw new InvalidInputError('ivs must be count x 12 bytes, got 13');
      case 'provider':
        throw new ProviderError('the KMS throttled the request', { providerCode: 'ThrottlingException', cause: new Error('HTTP 429') });
      case 'plain':
        throw new TypeError('plain failure');
      case 'string':
        throw 'a thrown string';
    }
  },
};

export type TestWorkerApi = typeof api;

exposeInWorker(api);
