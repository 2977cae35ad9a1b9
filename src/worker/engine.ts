/**
 * The batch engine: splits a batch into chunks by bytes, runs them on the worker pool (or on the
 * calling thread when `workers` is 0), and puts results back in input order. Each chunk is sealed as
 * its own record batch with a fresh salt, so chunks need no coordination.
 *
 * DEKs reach workers by handle: the engine never holds a raw DEK. When a worker lacks a key, the
 * engine asks the key's source for the bytes once, hands a copy to each worker that needs it
 * (transferred, so no copy stays on this thread) and wipes the original.
 */
import { transfer, type Remote } from 'comlink';
import type { BackendChoice } from '../backends/index.js';
import { packBytes, segment, type PackedBytes } from '../core/index.js';
import { AbortedError, ClosedError, InvalidInputError, type VecsealError } from '../errors.js';
import { reviveError } from './errors-transfer.js';
import type { BatchContext, SuiteId } from '../format/index.js';
import { isNode } from './endpoint.js';
import { JobRunner, type OpenJobResult, type RecordFailure } from './jobs.js';
import { WorkerPool } from './pool.js';
import type { SealWorkerApi } from './seal-worker.js';
import { spawnSealWorker } from './spawn.js';

export interface EngineOptions {
  /** Worker count; 0 runs on the calling thread. Default: hardwareConcurrency - 1, at least 1. */
  workers?: number;
  backend?: BackendChoice;
}

export interface RunOptions {
  signal?: AbortSignal;
  /** Called as chunks finish with the records done so far and the total. */
  onProgress?: (done: number, total: number) => void;
}

export interface KeyRef {
  dekId: string;
  keyVersion: number;
  suite?: SuiteId;
}

/** Supplies a DEK's raw bytes when a worker needs them; the engine wipes what it gets. */
export type DekSource = () => Promise<Uint8Array>;

interface KeyEntry {
  ref: KeyRef;
  source: DekSource;
}

/** Target plaintext bytes per chunk: large enough that a message round trip (up to ~0.2 ms in
 * WebKit, shared/notes) is noise, small enough that every worker gets several chunks. */
const MIN_CHUNK_BYTES = 256 * 1024;
const MAX_CHUNK_BYTES = 4 * 1024 * 1024;
const MAX_CHUNK_RECORDS = 16_384;

/** hardwareConcurrency - 1, at least 1 (Node 20 has no navigator: os.availableParallelism there). */
export async function defaultWorkerCount(): Promise<number> {
  let cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  if (cores === undefined && isNode()) {
    const specifier = 'node:os';
    const os = (await import(/* @vite-ignore */ specifier)) as { availableParallelism(): number };
    cores = os.availableParallelism();
  }
  return Math.max(1, (cores ?? 2) - 1);
}

export class Engine {
  readonly workers: number;
  readonly backend: BackendChoice;
  readonly #pool: WorkerPool<SealWorkerApi> | undefined;
  readonly #inline: JobRunner | undefined;
  readonly #keys = new Map<number, KeyEntry>();
  /** Which handles each worker (by its comlink proxy) holds; a replaced worker starts empty. */
  readonly #installed = new WeakMap<object, Set<number>>();
  #nextHandle = 1;
  #closed = false;

  private constructor(workers: number, backend: BackendChoice, pool?: WorkerPool<SealWorkerApi>, inline?: JobRunner) {
    this.workers = workers;
    this.backend = backend;
    this.#pool = pool;
    this.#inline = inline;
  }

  /** Starts the workers (and loads their backend) before the first batch. */
  static async create(options: EngineOptions = {}): Promise<Engine> {
    const workers = options.workers ?? (await defaultWorkerCount());
    if (!Number.isInteger(workers) || workers < 0 || workers > 256) throw new InvalidInputError(`workers must be an integer in 0..256; got ${String(workers)}`);
    const backend = options.backend ?? 'auto';
    if (workers === 0) {
      const runner = new JobRunner(backend);
      await runner.start();
      return new Engine(0, backend, undefined, runner);
    }
    const pool = new WorkerPool<SealWorkerApi>({
      size: workers,
      spawn: spawnSealWorker,
      onStart: async (remote) => {
        await remote.start(backend);
      },
    });
    const engine = new Engine(workers, backend, pool);
    try {
      await pool.broadcast(async (remote) => remote.start(backend));
    } catch (err) {
      await pool.close();
      throw err;
    }
    return engine;
  }

  /** Registers a DEK by reference; its bytes are fetched from `source` only when a worker needs them. */
  registerKey(ref: KeyRef, source: DekSource): number {
    this.#open();
    const handle = this.#nextHandle++;
    this.#keys.set(handle, { ref, source });
    return handle;
  }

  /** Wipes a DEK in every worker and forgets it. */
  async evictKey(handle: number): Promise<void> {
    this.#keys.delete(handle);
    if (this.#inline) this.#inline.evictKey(handle);
    else if (!this.#closed) await this.#pool!.broadcast(async (remote) => {
      await remote.evictKey(handle);
      this.#installed.get(remote as object)?.delete(handle);
    });
  }

  /**
   * Seals records that share a context but for their ids.
   * @returns the records in input order, each in its own buffer (a view into a shared buffer would
   * drag the whole buffer along when stored with structured clone, e.g. into IndexedDB)
   */
  async seal(handle: number, context: BatchContext, recordIds: readonly string[], payloads: readonly Uint8Array[], options: RunOptions = {}): Promise<Uint8Array[]> {
    this.#open();
    const chunks = splitByBytes(payloads, this.#pool ? this.workers : 1);
    const results = await this.#runChunks(handle, chunks, payloads.length, options, {
      inline: (runner, [from, to]) => runner.sealSeparate({ handle, context, recordIds: recordIds.slice(from, to), payloads: payloads.slice(from, to) }),
      prepare: ([from, to]) => ({ handle, context, recordIds: recordIds.slice(from, to), payloads: packBytes(payloads.slice(from, to)) }),
      send: async (remote, job) => {
        const sealed = await remote.seal(transfer(job, [job.payloads.bytes.buffer, job.payloads.offsets.buffer]));
        return Array.isArray(sealed) ? sealed : unpackCopies(sealed);
      },
    });
    return results.flat();
  }

  /**
   * Opens records that share a context but for their ids; each record gets its own outcome.
   * @returns payload views (empty for a failed record) and each record's error
   */
  async open(handle: number, context: BatchContext, recordIds: readonly string[], records: readonly Uint8Array[], options: RunOptions = {}): Promise<{ payloads: Uint8Array[]; errors: (VecsealError | undefined)[] }> {
    this.#open();
    const chunks = splitByBytes(records, this.#pool ? this.workers : 1);
    const results = await this.#runChunks(handle, chunks, records.length, options, {
      inline: (runner, [from, to]) => runner.open({ handle, context, recordIds: recordIds.slice(from, to), records: records.slice(from, to) }),
      prepare: ([from, to]) => ({ handle, context, recordIds: recordIds.slice(from, to), records: packBytes(records.slice(from, to)) }),
      send: async (remote, job) => (await remote.open(transfer(job, [job.records.bytes.buffer, job.records.offsets.buffer]))) as OpenJobResult,
    });
    const failures: (RecordFailure | undefined)[] = results.flatMap((r) => r.failures);
    const payloads = results.flatMap((r) => (Array.isArray(r.payloads) ? r.payloads : unpackCopies(r.payloads)));
    return { payloads, errors: failures.map((f) => (f ? reviveError(f) : undefined)) };
  }

  /** Wipes every DEK and ends every worker. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#keys.clear();
    if (this.#inline) {
      this.#inline.close();
      return;
    }
    try {
      await this.#pool!.broadcast(async (remote) => remote.close());
    } finally {
      await this.#pool!.close();
    }
  }

  async #runChunks<J, T>(handle: number, chunks: [number, number][], total: number, options: RunOptions, ops: ChunkOps<J, T>): Promise<T[]> {
    const entry = this.#keys.get(handle);
    if (!entry) throw new InvalidInputError(`unknown data key handle ${handle}`);
    const { signal, onProgress } = options;
    if (signal?.aborted) throw new AbortedError('the batch was aborted before it started');
    let done = 0;
    const finish = (value: T, range: [number, number]) => {
      done += range[1] - range[0];
      onProgress?.(done, total);
      return value;
    };
    // The DEK is fetched at most once per batch, for whichever runners lack it, and wiped after.
    const fetched = new KeyHandOver(entry.source);
    try {
      if (this.#inline) {
        await this.#ensureKey(this.#inline, handle, entry, fetched);
        const out: T[] = [];
        for (const range of chunks) {
          if (signal?.aborted) throw new AbortedError('the batch was aborted');
          out.push(finish(await ops.inline(this.#inline, range), range));
        }
        return out;
      }
      const out = await this.#runOnPool(chunks, signal, ops.prepare, async (remote, job, range) => {
        await this.#ensureKey(remote, handle, entry, fetched);
        return finish(await ops.send(remote, job), range);
      });
      // A small batch ran on some workers only: give the others the DEK now, so a later batch on
      // them does not ask the provider for it again (one unwrap per cached DEK, not one per worker).
      if (fetched.arrived) this.#spreadKey(handle, entry, await fetched.copy());
      return out;
    } finally {
      fetched.wipe();
    }
  }

  /** Installs a DEK, in the background, into every live worker that lacks it; `dek` is wiped after. */
  #spreadKey(handle: number, entry: KeyEntry, dek: Uint8Array): void {
    void this.#pool!.broadcast(async (remote) => {
      // Evicted meanwhile (evictKey forgets the handle first): nothing to install.
      if (this.#keys.get(handle) !== entry || this.#installed.get(remote as object)?.has(handle)) return;
      await this.#ensureKey(remote, handle, entry, { copy: async () => dek.slice() });
      if (this.#keys.get(handle) !== entry) await remote.evictKey(handle);
    }).catch(() => undefined) // a worker that fails here fetches the DEK itself when it needs it
      .finally(() => dek.fill(0));
  }

  /**
   * Runs every chunk on the pool. Chunks are prepared (packed) on this thread ahead of the workers, at
   * most one more than there are workers, so a worker never waits for its next chunk to be copied and
   * memory stays bounded. The first failure or an abort fails the whole batch at once; chunks not
   * started by then are skipped.
   */
  async #runOnPool<J, T>(chunks: [number, number][], signal: AbortSignal | undefined, prepare: (range: [number, number]) => J, task: (remote: Remote<SealWorkerApi>, job: J, range: [number, number]) => Promise<T>): Promise<T[]> {
    let stopped = false;
    const results: T[] = new Array(chunks.length);
    const ahead = this.workers + 1;
    const all = new Promise<T[]>((resolve, reject) => {
      let next = 0;
      let running = 0;
      let finished = 0;
      const launch = (): void => {
        while (!stopped && running < ahead && next < chunks.length) {
          const k = next++;
          running++;
          let job: J;
          try {
            job = prepare(chunks[k]!);
          } catch (err) {
            stopped = true;
            return reject(err);
          }
          this.#pool!.run(async (remote) => {
            if (stopped || signal?.aborted) throw new AbortedError('the batch was aborted');
            return task(remote, job, chunks[k]!);
          }).then(
            (value) => {
              results[k] = value;
              running--;
              if (++finished === chunks.length) resolve(results);
              else launch();
            },
            (err) => {
              stopped = true;
              reject(err);
            },
          );
        }
      };
      if (chunks.length === 0) resolve(results);
      else launch();
    });
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(new AbortedError('the batch was aborted'));
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([all, aborted]);
    } catch (err) {
      all.catch(() => undefined); // the rest settle on their own
      if (signal?.aborted && !(err instanceof AbortedError)) throw new AbortedError('the batch was aborted', { cause: err });
      throw err;
    } finally {
      stopped = true;
      signal?.removeEventListener('abort', onAbort!);
    }
  }

  /** Installs the DEK into one runner if it does not hold it yet. */
  async #ensureKey(runner: JobRunner | Remote<SealWorkerApi>, handle: number, entry: KeyEntry, fetched: Pick<KeyHandOver, 'copy'>): Promise<void> {
    const key = runner as object;
    let set = this.#installed.get(key);
    if (!set) this.#installed.set(key, (set = new Set()));
    if (set.has(handle)) return;
    const dek = await fetched.copy();
    const install = { handle, ...entry.ref, dek };
    if (runner instanceof JobRunner) runner.installKey(install);
    else await runner.installKey(transfer(install, [dek.buffer]));
    set.add(handle);
  }

  #open(): void {
    if (this.#closed) throw new ClosedError('this vecseal engine is closed');
  }
}

/** How a batch's chunks run: on the calling thread, or prepared here and sent to a worker. */
interface ChunkOps<J, T> {
  inline(runner: JobRunner, range: [number, number]): Promise<T>;
  prepare(range: [number, number]): J;
  send(remote: Remote<SealWorkerApi>, job: J): Promise<T>;
}

/** A DEK fetched from its source on first need, copied out to each runner, then wiped. */
class KeyHandOver {
  readonly #source: DekSource;
  #pending: Promise<Uint8Array> | undefined;
  #dek: Uint8Array | undefined;
  #wiped = false;

  constructor(source: DekSource) {
    this.#source = source;
  }

  /** True once the DEK has been fetched (and not wiped). */
  get arrived(): boolean {
    return this.#dek !== undefined && !this.#wiped;
  }

  /** A copy the receiver owns (a worker gets it transferred, so no copy stays behind). */
  async copy(): Promise<Uint8Array> {
    this.#pending ??= this.#source().then((dek) => {
      this.#dek = dek;
      if (this.#wiped) dek.fill(0); // arrived after the batch ended
      return dek;
    });
    const dek = await this.#pending;
    if (this.#wiped) throw new AbortedError('the batch ended before its key arrived');
    return dek.slice();
  }

  wipe(): void {
    this.#wiped = true;
    this.#dek?.fill(0);
  }
}

/** Ranges [from, to) with roughly equal bytes: at least one per worker, bounded in size. */
export function splitByBytes(items: readonly Uint8Array[], workers: number): [number, number][] {
  let total = 0;
  for (const it of items) total += it.length;
  const target = Math.min(MAX_CHUNK_BYTES, Math.max(MIN_CHUNK_BYTES, Math.ceil(total / (2 * workers))));
  const chunks: [number, number][] = [];
  let from = 0;
  let bytes = 0;
  for (let i = 0; i < items.length; i++) {
    bytes += items[i]!.length + 64; // per-record overhead counts too (tiny records)
    if (bytes >= target || i + 1 - from >= MAX_CHUNK_RECORDS) {
      chunks.push([from, i + 1]);
      from = i + 1;
      bytes = 0;
    }
  }
  if (from < items.length) chunks.push([from, items.length]);
  return chunks;
}

/** Each record of a packed list copied into a buffer of its own. */
function unpackCopies(list: PackedBytes): Uint8Array[] {
  const out: Uint8Array[] = new Array(list.offsets.length - 1);
  for (let i = 0; i < out.length; i++) out[i] = segment(list, i).slice();
  return out;
}
