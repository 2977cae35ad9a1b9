/**
 * Entry point of a vecseal worker (browser module worker or Node worker_thread): a JobRunner behind
 * comlink. Started by engine.ts; the backend choice arrives with `start`.
 */
import type { BackendChoice } from '../backends/index.js';
import { exposeInWorker } from './endpoint.js';
import { installErrorTransfer } from './errors-transfer.js';
import { averageBytes, JobRunner, SEPARATE_RECORD_BYTES, type KeyInstall, type OpenJob, type SealJob } from './jobs.js';
import { transfer } from 'comlink';
import type { PackedBytes } from '../core/index.js';

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
  /**
   * Records of 1 KiB and more come back each in its own buffer, transferred, so the calling thread
   * copies nothing; smaller ones come back packed in one buffer, because transferring thousands of
   * tiny buffers costs the worker more than the caller's copies (measured: a quarter of the worker's
   * time at 256 bytes).
   */
  async seal(job: SealJob): Promise<PackedBytes | Uint8Array[]> {
    if (averageBytes(job.payloads) < SEPARATE_RECORD_BYTES) {
      const packed = await started().seal(job);
      return transfer(packed, [packed.bytes.buffer as ArrayBuffer, packed.offsets.buffer as ArrayBuffer]);
    }
    const records = await started().sealSeparate(job);
    return transfer(records, records.map((r) => r.buffer as ArrayBuffer));
  },
  /** Payloads come back like sealed records do: one buffer each from 1 KiB, packed below. */
  async open(job: OpenJob) {
    const packed = averageBytes(job.records) < SEPARATE_RECORD_BYTES;
    const result = await started().open(job, packed ? 'packed' : 'separate');
    const payloads = result.payloads;
    const buffers = Array.isArray(payloads) ? payloads.filter((p) => p.byteLength > 0).map((p) => p.buffer as ArrayBuffer) : [payloads.bytes.buffer as ArrayBuffer, payloads.offsets.buffer as ArrayBuffer];
    return transfer(result, buffers);
  },
  close(): void {
    runner?.close();
  },
};

export type SealWorkerApi = typeof api;

exposeInWorker(api);
