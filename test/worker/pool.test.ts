/**
 * WorkerPool over real workers: Node worker_threads (the .ts test worker through the tsx bootstrap)
 * and browser module workers in Chromium, Firefox and WebKit. The same file runs in every project.
 */
import { transfer } from 'comlink';
import { afterEach, describe, expect, it } from 'vitest';
import { AbortedError, ClosedError, InvalidInputError, ProviderError, VecsealError, WorkerCrashedError } from '../../src/errors.js';
import { isNode, spawnNodeWorker, wrapBrowserWorker, type SpawnedWorker } from '../../src/worker/endpoint.js';
import { WorkerPool, type PoolOptions } from '../../src/worker/pool.js';
import type { TestWorkerApi } from './_test-worker.js';

type State = Awaited<ReturnType<TestWorkerApi['state']>>;

function spawnTestWorker(): SpawnedWorker | Promise<SpawnedWorker> {
  // The literal form bundlers look for (src/worker/endpoint.ts explains); Node runs the .ts through tsx.
  if (isNode()) return spawnNodeWorker(new URL('./_test-worker.js', import.meta.url));
  return wrapBrowserWorker(new Worker(new URL('./_test-worker.js', import.meta.url), { type: 'module' }));
}

/** A spawn factory that counts the workers it started and the terminate() calls on them. */
function countingSpawn(): { counts: { spawned: number; terminated: number }; spawn: () => Promise<SpawnedWorker> } {
  const counts = { spawned: 0, terminated: 0 };
  const spawn = async (): Promise<SpawnedWorker> => {
    const worker = await spawnTestWorker();
    counts.spawned++;
    return {
      endpoint: worker.endpoint,
      onCrash: (cb) => worker.onCrash(cb),
      terminate: () => {
        counts.terminated++;
        return worker.terminate();
      },
    };
  };
  return { counts, spawn };
}

const pools: WorkerPool<TestWorkerApi>[] = [];

function makePool(opts: Partial<PoolOptions<TestWorkerApi>> & { size: number }): WorkerPool<TestWorkerApi> {
  const pool = new WorkerPool<TestWorkerApi>({ spawn: spawnTestWorker, ...opts });
  pools.push(pool);
  return pool;
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close()));
});

async function workerStates(pool: WorkerPool<TestWorkerApi>): Promise<State[]> {
  const states: State[] = [];
  await pool.broadcast(async (remote) => {
    states.push(await remote.state());
  });
  return states;
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('WorkerPool', { timeout: 60_000 }, () => {
  it('rejects a size that is not a positive integer', () => {
    for (const size of [0, -1, 1.5, Number.NaN]) {
      expect(() => new WorkerPool<TestWorkerApi>({ size, spawn: spawnTestWorker })).toThrow(InvalidInputError);
    }
  });

  it('gives each caller its own result when tasks finish out of order', async () => {
    const pool = makePool({ size: 4 });
    await workerStates(pool); // all four started, so finishing order follows the delays
    const finished: number[] = [];
    const delays = [300, 200, 100, 0];
    const results = await Promise.all(
      delays.map(async (ms, i) => {
        const value = await pool.run((remote) => remote.sleep(ms, i));
        finished.push(i);
        return value;
      }),
    );
    expect(results).toEqual([0, 1, 2, 3]);
    expect(finished).not.toEqual([0, 1, 2, 3]);
  });

  it('queues tasks beyond its size and gives each worker one task at a time', async () => {
    const pool = makePool({ size: 2 });
    let active = 0;
    let maxActive = 0;
    const ran: string[] = [];
    const results = await Promise.all(
      Array.from({ length: 7 }, (_, i) =>
        pool.run(async (remote) => {
          maxActive = Math.max(maxActive, ++active);
          try {
            const value = await remote.sleep(40, i);
            ran.push((await remote.state()).workerId);
            return value;
          } finally {
            active--;
          }
        }),
      ),
    );
    expect(results).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(maxActive).toBe(2);
    expect(new Set(ran).size).toBe(2);
    const states = await workerStates(pool);
    expect(states.map((s) => s.maxInFlight)).toEqual([1, 1]);
  });

  it('broadcasts a task once to every worker', async () => {
    const pool = makePool({ size: 3 });
    await pool.broadcast((remote) => remote.setTag('wiped'));
    const states = await workerStates(pool);
    expect(new Set(states.map((s) => s.workerId)).size).toBe(3);
    expect(states.map((s) => s.tag)).toEqual(['wiped', 'wiped', 'wiped']);
  });

  it('prepares every worker with onStart before its first task', async () => {
    const started: number[] = [];
    const pool = makePool({
      size: 3,
      onStart: async (remote, index) => {
        await remote.init(index);
        started.push(index);
      },
    });
    const states = await workerStates(pool);
    expect([...started].sort()).toEqual([0, 1, 2]);
    expect(states.map((s) => s.startIndex).sort()).toEqual([0, 1, 2]);
  });

  for (const how of ['exit', 'throw'] as const) {
    it(`rejects the task of a worker that dies mid-task (${how}) and replaces the worker`, async () => {
      const { counts, spawn } = countingSpawn();
      let starts = 0;
      const pool = makePool({
        size: 1,
        spawn,
        onStart: async (remote, index) => {
          await remote.init(index);
          starts++;
        },
      });
      const before = await pool.run((remote) => remote.state());
      const crashing = pool.run((remote) => remote.crash(how));
      const queued = pool.run((remote) => remote.state());
      const error = await crashing.then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(error).toBeInstanceOf(WorkerCrashedError);
      expect((error as WorkerCrashedError).code).toBe('WORKER_CRASHED');
      expect((error as Error).message).toMatch(/worker stopped unexpectedly/);
      const after = await queued;
      expect(after.workerId).not.toBe(before.workerId);
      expect(after.startIndex).toBe(0);
      expect(starts).toBe(2);
      expect(counts).toEqual({ spawned: 2, terminated: 1 });
      await expect(pool.run((remote) => remote.sleep(0, 'still working'))).resolves.toBe('still working');
    });
  }

  it('rejects the waiting task when a worker fails to start, and starts a fresh one for the next', async () => {
    let attempts = 0;
    const pool = makePool({
      size: 1,
      spawn: () => {
        if (++attempts === 1) throw new Error('no worker today');
        return spawnTestWorker();
      },
    });
    await expect(pool.run((remote) => remote.sleep(0, 'first'))).rejects.toThrow('no worker today');
    await expect(pool.run((remote) => remote.sleep(0, 'second'))).resolves.toBe('second');
    expect(attempts).toBe(2);
  });

  it('drops an aborted queued task without running it', async () => {
    const pool = makePool({ size: 1 });
    let firstDone = false;
    const first = pool.run((remote) => remote.sleep(300, 'first')).then((value) => {
      firstDone = true;
      return value;
    });
    let secondRan = false;
    const controller = new AbortController();
    const second = pool.run(
      (remote) => {
        secondRan = true;
        return remote.sleep(0, 'second');
      },
      { signal: controller.signal },
    );
    controller.abort(new Error('user cancelled'));
    const error = await second.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(AbortedError);
    expect((error as AbortedError).code).toBe('ABORTED');
    expect(firstDone).toBe(false); // rejected at once, not when the worker became free
    await expect(first).resolves.toBe('first');
    await expect(pool.run((remote) => remote.sleep(0, 'third'))).resolves.toBe('third');
    expect(secondRan).toBe(false);
  });

  it('rejects an aborted running task at once but frees its worker only when the task ends', async () => {
    const pool = makePool({ size: 1 });
    const controller = new AbortController();
    const started = deferred();
    let sleepDone = false;
    const running = pool.run(
      async (remote) => {
        started.resolve();
        const value = await remote.sleep(300, 'late');
        sleepDone = true;
        return value;
      },
      { signal: controller.signal },
    );
    await started.promise;
    controller.abort();
    await expect(running).rejects.toBeInstanceOf(AbortedError);
    expect(sleepDone).toBe(false);
    // Queued behind the aborted task, this must find the sleep over: one task per worker still holds.
    await expect(pool.run((remote) => remote.inFlight())).resolves.toBe(0);
    expect(sleepDone).toBe(true);
  });

  it('does not run a task aborted while its worker was still starting', async () => {
    const release = deferred();
    const pool = makePool({ size: 1, onStart: () => release.promise });
    let ran = false;
    const controller = new AbortController();
    const task = pool.run(
      async (remote) => {
        ran = true;
        return remote.inFlight();
      },
      { signal: controller.signal },
    );
    await new Promise((resolve) => setTimeout(resolve, 50)); // let the pool hand the task to the starting worker
    controller.abort();
    await expect(task).rejects.toBeInstanceOf(AbortedError);
    release.resolve();
    await expect(pool.run((remote) => remote.inFlight())).resolves.toBe(0);
    expect(ran).toBe(false);
  });

  it('rejects a task whose signal is already aborted without running it', async () => {
    const pool = makePool({ size: 1 });
    let ran = false;
    const task = pool.run(
      async () => {
        ran = true;
      },
      { signal: AbortSignal.abort() },
    );
    await expect(task).rejects.toBeInstanceOf(AbortedError);
    await pool.run((remote) => remote.inFlight()); // a later task has run, so the aborted one had its chance
    expect(ran).toBe(false);
  });

  it('close() rejects queued and running tasks, terminates the workers, and refuses new work', async () => {
    const { counts, spawn } = countingSpawn();
    const pool = makePool({ size: 1, spawn });
    const started = deferred();
    const running = pool.run(async (remote) => {
      started.resolve();
      return remote.sleep(5_000, 'never');
    });
    const queued = pool.run((remote) => remote.sleep(0, 'never either'));
    await started.promise;
    const closing = pool.close();
    await expect(queued).rejects.toBeInstanceOf(ClosedError);
    await expect(running).rejects.toBeInstanceOf(ClosedError);
    await expect(running).rejects.toMatchObject({ code: 'CLOSED' });
    await closing;
    expect(counts).toEqual({ spawned: 1, terminated: 1 });
    await expect(pool.run((remote) => remote.inFlight())).rejects.toBeInstanceOf(ClosedError);
    await expect(pool.broadcast((remote) => remote.inFlight())).rejects.toBeInstanceOf(ClosedError);
    await expect(pool.close()).resolves.toBeUndefined();
    expect(counts.terminated).toBe(1);
  });

  it('close() right after construction terminates the workers still starting, without preparing them', async () => {
    const { counts, spawn } = countingSpawn();
    let starts = 0;
    const pool = makePool({
      size: 2,
      spawn,
      onStart: async () => {
        starts++;
      },
    });
    await pool.close();
    expect(counts).toEqual({ spawned: 2, terminated: 2 });
    expect(starts).toBe(0);
  });

  it('transfers buffers passed with Comlink.transfer, detaching them on the sending side', async () => {
    const pool = makePool({ size: 1 });
    const copied = new Uint8Array([1, 2, 3]);
    await expect(pool.run((remote) => remote.sum(copied))).resolves.toBe(6);
    expect(copied.buffer.byteLength).toBe(3); // without transfer the sender keeps its bytes

    const moved = new Uint8Array([1, 2, 3, 250]);
    await expect(pool.run((remote) => remote.sum(transfer(moved, [moved.buffer])))).resolves.toBe(256);
    expect(moved.buffer.byteLength).toBe(0);
    expect(moved.length).toBe(0);
  });

  it('delivers VecsealErrors thrown in a worker with their class, code, name and message', async () => {
    const pool = makePool({ size: 1 });
    const { workerId } = await pool.run((remote) => remote.state());
    const failure = (kind: 'invalid' | 'provider' | 'plain' | 'string') =>
      pool.run((remote) => remote.fail(kind)).then(
        () => {
          throw new Error(`fail('${kind}') resolved`);
        },
        (err: unknown) => err,
      );

    const invalid = await failure('invalid');
    expect(invalid).toBeInstanceOf(InvalidInputError);
    expect(invalid).toBeInstanceOf(VecsealError);
    expect(invalid).toMatchObject({ code: 'INVALID_INPUT', name: 'InvalidInputError', message: 'ivs must be count x 12 bytes, got 13' });

    const provider = await failure('provider');
    expect(provider).toBeInstanceOf(ProviderError);
    expect(provider).toMatchObject({ code: 'PROVIDER_ERROR', name: 'ProviderError', message: 'the KMS throttled the request', providerCode: 'ThrottlingException' });

    const plain = await failure('plain');
    expect(plain).toBeInstanceOf(Error);
    expect(plain).not.toBeInstanceOf(VecsealError);
    expect(plain).toMatchObject({ name: 'TypeError', message: 'plain failure' });

    await expect(failure('string')).resolves.toBe('a thrown string');

    // A thrown error is the task's failure, not the worker's: the same worker carries on.
    await expect(pool.run((remote) => remote.state())).resolves.toMatchObject({ workerId });
  });
});
