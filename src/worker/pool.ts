/**
 * A fixed-size pool of comlink workers: one task per worker at a time, a FIFO queue beyond that,
 * crashed workers replaced, AbortSignal and close() honoured. The runtime differences (browser module
 * workers, Node worker_threads) stay in endpoint.ts; nothing here asks which runtime it is in.
 */
import { wrap, type Remote } from 'comlink';
import { AbortedError, ClosedError, InvalidInputError, WorkerCrashedError } from '../errors.js';
import type { SpawnedWorker } from './endpoint.js';
import { installErrorTransfer } from './errors-transfer.js';

/**
 * Work for one worker: called with the worker's proxy (the same object for every task on that worker,
 * a new one for its replacement, so it can key per-worker bookkeeping), settles when the work is done.
 */
export type PoolTask<Api, T> = (remote: Remote<Api>) => Promise<T>;

export interface PoolOptions<Api> {
  /** Number of workers, a positive integer. They start at once. */
  size: number;
  /**
   * Starts one worker. In browsers write the `new Worker(new URL('./x.js', import.meta.url), { type:
   * 'module' })` literal inside this function (see endpoint.ts) so bundlers find the entry.
   */
  spawn: () => SpawnedWorker | Promise<SpawnedWorker>;
  /** Prepares each new worker, the first time and after every replacement, before it takes a task. */
  onStart?: (remote: Remote<Api>, index: number) => Promise<void>;
}

export interface RunOptions {
  /** Rejects the task with AbortedError: a queued task never runs; a running one's result is dropped. */
  signal?: AbortSignal;
}

interface Job<Api> {
  readonly task: PoolTask<Api, unknown>;
  /** The only slot the job may run on (broadcast), or undefined for any. */
  readonly pin: number | undefined;
  /** True once resolved or rejected, after which both are no-ops. */
  readonly settled: () => boolean;
  readonly resolve: (value: unknown) => void;
  readonly reject: (reason: unknown) => void;
}

/** One place in the pool and the worker currently filling it. */
interface Slot<Api> {
  readonly index: number;
  readonly spawned: Promise<SpawnedWorker>;
  /** The proxy, once spawned and through onStart; rejects if either failed or the slot was stopped first. */
  readonly ready: Promise<Remote<Api>>;
  /** Never resolves; rejects (WorkerCrashedError or ClosedError) when the slot's worker goes away. */
  readonly stopped: Promise<never>;
  readonly stop: (reason: Error) => void;
  /** Set once stopped. */
  stopReason: Error | undefined;
  /** Rejects the running task, if any, when the slot stops. */
  onStop: ((reason: Error) => void) | undefined;
  busy: boolean;
}

/**
 * Runs tasks on a fixed number of workers that serve an `Api` through comlink (`exposeInWorker`).
 *
 * A worker that dies while running a task (an uncaught error, `process.exit`, `close()` in the worker)
 * rejects that task with WorkerCrashedError and leaves its place empty; the next task that needs the
 * place starts a fresh worker (onStart runs again). A worker that fails to start rejects the task that
 * waited for it, so a broken entry cannot respawn in a loop. Queued tasks are kept.
 *
 * @example
 * const pool = new WorkerPool<SealApi>({ size: 4, spawn });        // spawn: see endpoint.ts
 * const sealed = await pool.run((w) => w.seal(transfer(batch, [batch.buffer])));
 * await pool.broadcast((w) => w.forgetKey(keyId));
 * await pool.close();
 */
export class WorkerPool<Api> {
  /** Number of workers the pool keeps. */
  readonly size: number;
  readonly #spawn: PoolOptions<Api>['spawn'];
  readonly #onStart: PoolOptions<Api>['onStart'];
  /** undefined marks an empty place, filled when a task needs it. */
  readonly #slots: (Slot<Api> | undefined)[];
  readonly #queue: Job<Api>[] = [];
  #closing: Promise<void> | undefined;

  /**
   * @param opts size, spawn factory and optional onStart
   * @throws InvalidInputError when `size` is not a positive integer
   */
  constructor(opts: PoolOptions<Api>) {
    if (!Number.isSafeInteger(opts.size) || opts.size < 1) {
      throw new InvalidInputError(`pool size must be a positive integer, got ${String(opts.size)}`);
    }
    installErrorTransfer();
    this.size = opts.size;
    this.#spawn = opts.spawn;
    this.#onStart = opts.onStart;
    this.#slots = Array.from({ length: opts.size }, (_, index) => this.#start(index));
  }

  /**
   * Runs `task` on a free worker, or queues it (first in, first out) while all are busy.
   * @param task called with the worker's proxy; pass buffers with `Comlink.transfer` to move them
   * @returns what `task` returns
   * @throws AbortedError when `opts.signal` aborts first; WorkerCrashedError when the worker dies
   *   during the task; ClosedError when the pool is or gets closed; whatever the task throws
   *   (VecsealErrors keep their class and code across the boundary)
   */
  run<T>(task: PoolTask<Api, T>, opts: RunOptions = {}): Promise<T> {
    return this.#submit(task, undefined, opts.signal);
  }

  /**
   * Runs `task` once on every live worker (e.g. to wipe a key everywhere), each copy queued behind the
   * tasks submitted before it. Workers started later get their state from onStart instead.
   * @throws the first failure, after every copy has settled; ClosedError when the pool is closed
   */
  async broadcast(task: PoolTask<Api, unknown>): Promise<void> {
    if (this.#closing !== undefined) throw new ClosedError('the worker pool is closed');
    const live = this.#slots.flatMap((slot) => (slot === undefined ? [] : [slot.index]));
    const outcomes = await Promise.allSettled(live.map((index) => this.#submit(task, index, undefined)));
    const failure = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failure !== undefined) throw failure.reason;
  }

  /**
   * Rejects queued and running tasks with ClosedError and terminates every worker. Idempotent; later
   * calls of run and broadcast reject with ClosedError.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    for (const job of this.#queue.splice(0)) job.reject(new ClosedError('the worker pool was closed before the task ran'));
    const slots = this.#slots.filter((slot) => slot !== undefined);
    this.#slots.fill(undefined);
    for (const slot of slots) slot.stop(new ClosedError('the worker pool was closed while the task ran'));
    await Promise.all(slots.map((slot) => this.#terminate(slot)));
  }

  #submit<T>(task: PoolTask<Api, T>, pin: number | undefined, signal: AbortSignal | undefined): Promise<T> {
    if (this.#closing !== undefined) return Promise.reject(new ClosedError('the worker pool is closed'));
    if (signal?.aborted) return Promise.reject(aborted(signal.reason));
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const settle = (): boolean => {
        if (settled) return false;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        return true;
      };
      const job: Job<Api> = {
        task,
        pin,
        settled: () => settled,
        resolve: (value) => {
          if (settle()) resolve(value as T);
        },
        reject: (reason) => {
          if (settle()) reject(reason);
        },
      };
      // A queued job leaves the queue; a running one cannot be interrupted, so only its result is dropped
      // and its worker stays busy until the task really ends.
      const onAbort = (): void => {
        const at = this.#queue.indexOf(job);
        if (at >= 0) this.#queue.splice(at, 1);
        job.reject(aborted(signal?.reason));
      };
      signal?.addEventListener('abort', onAbort);
      this.#queue.push(job);
      this.#pump();
    });
  }

  /** Hands queued jobs to free slots, in queue order, skipping jobs pinned to a busy slot. */
  #pump(): void {
    for (let i = 0; i < this.#queue.length && this.#slots.some((slot) => slot === undefined || !slot.busy); ) {
      const job = this.#queue[i]!;
      const slot = this.#freeSlot(job.pin);
      if (slot === undefined) {
        i++;
        continue;
      }
      this.#queue.splice(i, 1);
      void this.#execute(slot, job);
    }
  }

  /** A free slot among the allowed ones, preferring a running worker to starting a new one. */
  #freeSlot(pin: number | undefined): Slot<Api> | undefined {
    const allowed = pin === undefined ? this.#slots.keys() : [pin].values();
    let empty: number | undefined;
    for (const index of allowed) {
      const slot = this.#slots[index];
      if (slot !== undefined && !slot.busy) return slot;
      if (slot === undefined) empty ??= index;
    }
    if (empty === undefined) return undefined;
    const slot = this.#start(empty);
    this.#slots[empty] = slot;
    return slot;
  }

  async #execute(slot: Slot<Api>, job: Job<Api>): Promise<void> {
    slot.busy = true;
    try {
      const remote = await slot.ready;
      // Aborted while the worker was starting: the task has not begun, so it need not run at all.
      if (job.settled()) return;
      // Not Promise.race with slot.stopped: every race against that never-settling promise would leave a
      // reaction on it holding the task's result for the worker's whole life (a batch leaked per task).
      job.resolve(
        await new Promise((resolve, reject) => {
          if (slot.stopReason !== undefined) return reject(slot.stopReason);
          slot.onStop = reject;
          job.task(remote).then(resolve, reject);
        }),
      );
    } catch (err) {
      job.reject(err);
    } finally {
      slot.onStop = undefined;
      slot.busy = false;
      this.#pump();
    }
  }

  #start(index: number): Slot<Api> {
    let rejectStopped!: (reason: Error) => void;
    const stopped = new Promise<never>((_, reject) => {
      rejectStopped = reject;
    });
    const stop = (reason: Error): void => {
      slot.stopReason ??= reason;
      rejectStopped(reason);
      slot.onStop?.(reason);
    };
    // Observed through the races below; a slot may be stopped while nothing is racing it.
    stopped.catch(() => {});
    const spawned = Promise.resolve().then(() => this.#spawn());
    const ready = Promise.race([
      spawned.then(async (worker) => {
        // Closed while spawning: close() terminates this worker, so it must not be prepared.
        if (this.#closing !== undefined) throw new ClosedError('the worker pool was closed while a worker started');
        worker.onCrash((reason) => {
          slot.stop(new WorkerCrashedError(`a worker stopped unexpectedly (${reason.message})`, { cause: reason }));
          this.#retire(slot);
        });
        const remote = wrap<Api>(worker.endpoint);
        await this.#onStart?.(remote, index);
        return remote;
      }),
      stopped,
    ]);
    const slot: Slot<Api> = { index, spawned, ready, stopped, stop, stopReason: undefined, onStop: undefined, busy: false };
    // A worker that failed to start is not retried here: the next task that needs the place will.
    ready.catch(() => this.#retire(slot));
    return slot;
  }

  /** Empties the slot's place (if it still holds it) and terminates its worker. */
  #retire(slot: Slot<Api>): void {
    if (this.#slots[slot.index] !== slot) return;
    this.#slots[slot.index] = undefined;
    void this.#terminate(slot);
  }

  async #terminate(slot: Slot<Api>): Promise<void> {
    try {
      const worker = await slot.spawned;
      await worker.terminate();
    } catch {
      // Either it never started or it is already gone; there is nothing left to stop.
    }
  }
}

function aborted(reason: unknown): AbortedError {
  return new AbortedError('the task was aborted before it delivered its result', { cause: reason });
}
