/**
 * What a worker does: holds installed DEKs by handle and seals or opens one chunk of records at a
 * time with its backend. The same runner serves `workers: 0` on the calling thread, so both paths run
 * identical code. Every value in and out is structured-clone friendly (packed buffers, plain objects).
 */
import { loadBackend, type BackendChoice, type CipherBackend } from '../backends/index.js';
import { packBytes, type ByteList, type PackedBytes } from '../core/index.js';
import { KeyStateError, type ErrorCode } from '../errors.js';
import { checkDataKey, openBatch, sealBatch, type BatchContext, type DataKey, type SuiteId } from '../format/index.js';

export interface KeyInstall {
  handle: number;
  dekId: string;
  keyVersion: number;
  suite?: SuiteId;
  /** 32 raw bytes; the runner owns them from here on (wiped on eviction). */
  dek: Uint8Array;
}

export interface SealJob {
  handle: number;
  context: BatchContext;
  recordIds: readonly string[];
  /** Packed when the job crosses to a worker; arrays when it runs on the calling thread. */
  payloads: ByteList;
  /** Only for reproducible test output; normally each chunk draws a fresh salt. */
  salt?: Uint8Array;
}

export interface OpenJob {
  handle: number;
  context: BatchContext;
  recordIds: readonly string[];
  records: ByteList;
}

/** A per-record failure as plain data (error classes do not survive structured clone). */
export interface RecordFailure {
  code: ErrorCode;
  message: string;
}

export interface OpenJobResult {
  /**
   * Each payload in a buffer of its own (empty for a failed record), so it can be transferred and kept;
   * or, for small records crossing threads, all of them packed in one buffer.
   */
  payloads: Uint8Array[] | PackedBytes;
  /** failures[i] is set for each record that did not open. */
  failures: (RecordFailure | undefined)[];
}

export class JobRunner {
  readonly #keys = new Map<number, DataKey>();
  readonly #choice: BackendChoice;
  #backend: Promise<CipherBackend> | undefined;

  constructor(choice: BackendChoice) {
    this.#choice = choice;
  }

  /** Loads the backend now, so the first batch does not pay for it (and a bad choice fails early). */
  async start(): Promise<string> {
    return (await this.#loaded()).name;
  }

  installKey(install: KeyInstall): void {
    const key: DataKey = { dek: install.dek, dekId: install.dekId, keyVersion: install.keyVersion, ...(install.suite ? { suite: install.suite } : {}) };
    checkDataKey(key);
    this.evictKey(install.handle);
    this.#keys.set(install.handle, key);
  }

  hasKey(handle: number): boolean {
    return this.#keys.has(handle);
  }

  /** Wipes and forgets a DEK (no-op for an unknown handle). */
  evictKey(handle: number): void {
    this.#keys.get(handle)?.dek.fill(0);
    this.#keys.delete(handle);
  }

  /** Seals into one buffer (what a worker transfers back). */
  async seal(job: SealJob): Promise<PackedBytes> {
    return (await sealBatch(await this.#loaded(), this.#key(job.handle), job.context, job.recordIds, job.payloads, job.salt, 'packed')).packed!;
  }

  /** Seals each record into its own buffer (on the calling thread, to hand to the caller as is). */
  async sealSeparate(job: SealJob): Promise<Uint8Array[]> {
    return (await sealBatch(await this.#loaded(), this.#key(job.handle), job.context, job.recordIds, job.payloads, job.salt, 'separate')).records;
  }

  async open(job: OpenJob, layout: 'packed' | 'separate' = 'separate'): Promise<OpenJobResult> {
    const { payloads, errors } = await openBatch(await this.#loaded(), this.#key(job.handle), job.context, job.recordIds, job.records);
    const failures = errors.map((e) => (e ? { code: e.code, message: e.message } : undefined));
    return { payloads: layout === 'packed' ? packBytes(payloads) : payloads.map(ownBuffer), failures };
  }

  /** Wipes every DEK. */
  close(): void {
    for (const handle of [...this.#keys.keys()]) this.evictKey(handle);
  }

  #key(handle: number): DataKey {
    const key = this.#keys.get(handle);
    if (!key) throw new KeyStateError(`data key handle ${handle} is not installed in this worker (evicted or never installed)`);
    return key;
  }

  #loaded(): Promise<CipherBackend> {
    this.#backend ??= loadBackend(this.#choice);
    return this.#backend;
  }
}

/** The bytes in a buffer of their own: the view itself if it already spans its whole buffer. */
export function ownBuffer(view: Uint8Array): Uint8Array {
  return view.byteOffset === 0 && view.byteLength === view.buffer.byteLength && !isShared(view.buffer) ? view : view.slice();
}

function isShared(buffer: ArrayBufferLike): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && buffer instanceof SharedArrayBuffer;
}

/** Records below this average size cross threads packed in one buffer; larger ones one buffer each. */
export const SEPARATE_RECORD_BYTES = 1024;

export function averageBytes(list: ByteList): number {
  const count = Array.isArray(list) ? list.length : (list as PackedBytes).offsets.length - 1;
  const bytes = Array.isArray(list) ? (list as readonly Uint8Array[]).reduce((n, b) => n + b.length, 0) : (list as PackedBytes).bytes.length;
  return count === 0 ? 0 : bytes / count;
}
