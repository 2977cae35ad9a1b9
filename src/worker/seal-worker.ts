/**
 * Entry point of a vecseal worker (browser module worker or Node worker_thread): a JobRunner behind
 * comlink. Started by engine.ts; the backend choice arrives with `start`.
 */
import type { BackendChoice } from '../backends/index.js';
import { exposeInWorker } from './endpoint.js';
import { installErrorTransfer } from './errors-transfer.js';
import { JobRunner, type KeyInstall, type OpenJob, type SealJob } from './jobs.js';
import { transfer } from 'comlink';

installErrorTransfer();

let runner: JobRunner | undefined;

function started(): JobRunner {
  if (!runner) throw new Error('worker used before start()');
  return runner;
}

const api = {
  async start(choice: BackendChoice): Promise<string> {
    runner ??= new JobRunner(choice);
    return runner.start();
  },
  installKey(install: KeyInstall): void {
    started().installKey(install);
  },
  hasKey(handle: number): boolean {
    return started().hasKey(handle);
  },
  evictKey(handle: number): void {
    runner?.evictKey(handle);
  },
  /** Each record comes back in its own buffer, transferred: the calling thread copies nothing. */
  async seal(job: SealJob) {
    const records = await started().sealSeparate(job);
    return transfer(records, records.map((r) => r.buffer));
  },
  async open(job: OpenJob) {
    const result = await started().open(job);
    return transfer(result, result.payloads.filter((p) => p.byteLength > 0).map((p) => p.buffer as ArrayBuffer));
  },
  close(): void {
    runner?.close();
  },
};

export type SealWorkerApi = typeof api;

exposeInWorker(api);
