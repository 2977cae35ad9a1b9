/**
 * One worker interface over browser module workers and Node worker_threads, so the pool (pool.ts) and
 * worker entries are written once. comlink speaks the protocol (HTML structured clone over
 * postMessage); this file adapts the two runtimes' endpoints and turns each runtime's way of dying
 * into one `onCrash` callback.
 *
 * In browsers the caller creates the Worker, on purpose: bundlers (Vite, webpack 5, Parcel) find and
 * emit a worker entry only from the literal `new Worker(new URL('./x.js', import.meta.url), ...)`
 * written in the module next to that entry. A pool therefore takes a `spawn` factory, written so:
 *
 * ```ts
 * const spawn = () => isNode()
 *   ? spawnNodeWorker(new URL('./seal-worker.js', import.meta.url))
 *   : wrapBrowserWorker(new Worker(new URL('./seal-worker.js', import.meta.url), { type: 'module' }));
 * ```
 *
 * Name the entry `.js` even beside a `.ts` source: it is the name that exists in dist/. Vite resolves
 * the `.js` to the `.ts` source in development, and spawnNodeWorker runs the `.ts` through tsx.
 */
import { expose, type Endpoint } from 'comlink';
import type nodeAdapter from 'comlink/dist/esm/node-adapter';
import { NotSupportedError } from '../errors.js';
import { installErrorTransfer } from './errors-transfer.js';

/** A started worker as the pool sees it. */
export interface SpawnedWorker {
  /** What `Comlink.wrap` talks to. */
  readonly endpoint: Endpoint;
  /** Stops the worker; no crash is reported after this. */
  terminate(): void | Promise<unknown>;
  /** Calls `cb` once if the worker dies on its own (at once if it already has). */
  onCrash(cb: (reason: Error) => void): void;
}

/** The parts of a node:worker_threads Worker or MessagePort used here (typed locally: the build has no @types/node). */
interface NodePort {
  postMessage(value: unknown, transferList?: readonly unknown[]): void;
  // EventEmitter listeners, typed as @types/node types them (and as comlink's node-adapter accepts them).
  on(event: string, listener: (...args: any[]) => void): unknown;
  off(event: string, listener: (...args: any[]) => void): unknown;
}

interface NodeWorker extends NodePort {
  terminate(): Promise<number>;
}

interface WorkerThreads {
  Worker: new (entry: URL | string, options?: { eval?: boolean }) => NodeWorker;
  parentPort: NodePort | null;
}

/** What the worker posts just before it calls close() on itself, which browsers do not report. */
const CLOSING_NOTICE = 'vecseal:worker-closing';

/** True in Node (and runtimes that present themselves as Node), whose workers are worker_threads. */
export function isNode(): boolean {
  const proc = (globalThis as { process?: { versions?: { node?: unknown } } }).process;
  return typeof proc?.versions?.node === 'string';
}

/** Imports a Node-only module through a variable, so browser bundlers never try to resolve it. */
async function importNodeOnly<T>(specifier: string): Promise<T> {
  return (await import(/* @vite-ignore */ /* webpackIgnore: true */ specifier)) as T;
}

async function loadNode(): Promise<{ threads: WorkerThreads; nodeEndpoint: typeof nodeAdapter }> {
  const [threads, adapter] = await Promise.all([
    importNodeOnly<WorkerThreads>('node:worker_threads'),
    importNodeOnly<{ default: typeof nodeAdapter }>('comlink/dist/esm/node-adapter.mjs'),
  ]);
  return { threads, nodeEndpoint: adapter.default };
}

/** Reports the first crash to every listener, and nothing once the worker has been stopped on purpose. */
class CrashReporter {
  #reason: Error | undefined;
  #stopped = false;
  readonly #listeners: ((reason: Error) => void)[] = [];

  report(reason: Error): void {
    if (this.#reason !== undefined || this.#stopped) return;
    this.#reason = reason;
    for (const listener of this.#listeners) listener(reason);
  }

  listen(cb: (reason: Error) => void): void {
    const reason = this.#reason;
    if (reason !== undefined) queueMicrotask(() => cb(reason));
    else this.#listeners.push(cb);
  }

  stop(): void {
    this.#stopped = true;
  }
}

/**
 * Adapts a browser module Worker created by the caller (see the file comment for why the caller).
 * A crash is an `error` event (an uncaught error in the worker, or a script that failed to load), a
 * `messageerror`, or the worker calling `close()` on itself (announced by `exposeInWorker`).
 * @param worker a Worker created with `{ type: 'module' }` whose entry calls `exposeInWorker`
 * @returns the worker for `WorkerPool`'s `spawn`
 */
export function wrapBrowserWorker(worker: Worker): SpawnedWorker {
  const crashes = new CrashReporter();
  worker.addEventListener('error', (event: Event) => {
    // Handled here; not cancelling it would also report it as an uncaught error of this page.
    event.preventDefault();
    const message = event instanceof ErrorEvent && event.message ? event.message : 'the script failed to load or threw';
    crashes.report(new Error(`worker error: ${message}`));
  });
  worker.addEventListener('messageerror', () => crashes.report(new Error('a message from the worker could not be deserialized')));
  worker.addEventListener('message', (event: MessageEvent) => {
    if (event.data === CLOSING_NOTICE) crashes.report(new Error('the worker closed itself'));
  });
  return {
    endpoint: worker,
    terminate() {
      crashes.stop();
      worker.terminate();
    },
    onCrash: (cb) => crashes.listen(cb),
  };
}

/**
 * A `.js` entry that does not exist beside a `.ts` that does means we run from TypeScript sources
 * (vitest, tsx); dist/ always has the `.js`.
 */
async function typeScriptSource(url: URL): Promise<URL | undefined> {
  if (url.protocol !== 'file:' || !url.pathname.endsWith('.js')) return undefined;
  const fs = await importNodeOnly<{ existsSync(path: URL): boolean }>('node:fs');
  const ts = new URL(url.href.replace(/\.js$/, '.ts'));
  return !fs.existsSync(url) && fs.existsSync(ts) ? ts : undefined;
}

/**
 * Node 20 will not start a `.ts` entry with `execArgv: ['--import', 'tsx']`, but an eval'd bootstrap
 * can register tsx's ESM hooks in the new thread and then import the entry. tsx is resolved here, from
 * this module, because the eval'd code would resolve it from the process's working directory.
 */
function tsxBootstrap(entry: URL): string {
  let tsxApi: string;
  try {
    tsxApi = import.meta.resolve('tsx/esm/api');
  } catch (err) {
    throw new NotSupportedError(`worker entry ${entry.href} exists only as TypeScript, and running it needs tsx, which was not found`, { cause: err });
  }
  return `import(${JSON.stringify(tsxApi)}).then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); });`;
}

/**
 * Starts a Node worker_threads Worker on `url`, adapted for comlink. When `url` names a `.js` entry
 * that exists only as its `.ts` source, the source is run through tsx (a devDependency: this happens
 * only when running from sources). A crash is an uncaught error, an exit of the thread (including
 * `process.exit` in it) that `terminate()` did not cause, or a `messageerror`.
 * @param url file URL of the worker entry, which calls `exposeInWorker`
 * @returns the worker for `WorkerPool`'s `spawn`
 * @throws NotSupportedError when the entry needs tsx and tsx cannot be found
 * @example
 * const pool = new WorkerPool<Api>({ size: 4, spawn: () => spawnNodeWorker(new URL('./x.js', import.meta.url)) });
 */
export async function spawnNodeWorker(url: URL): Promise<SpawnedWorker> {
  const [{ threads, nodeEndpoint }, source] = await Promise.all([loadNode(), typeScriptSource(url)]);
  const worker = source === undefined ? new threads.Worker(url) : new threads.Worker(tsxBootstrap(source), { eval: true });
  const crashes = new CrashReporter();
  // An 'error' listener must exist from the start: an unhandled one would throw in this thread.
  worker.on('error', (err: Error) => crashes.report(new Error(`uncaught error in the worker: ${err.message}`, { cause: err })));
  worker.on('messageerror', (err: Error) => crashes.report(new Error('a message from the worker could not be deserialized', { cause: err })));
  worker.on('exit', (code: number) => crashes.report(new Error(`the worker exited with code ${code}`)));
  return {
    endpoint: nodeEndpoint(worker),
    terminate() {
      crashes.stop();
      return worker.terminate();
    },
    onCrash: (cb) => crashes.listen(cb),
  };
}

/** Lets the main thread see a browser worker's close(), which fires no event there. */
function announceClose(scope: { close(): void; postMessage(message: unknown): void }): void {
  const close = scope.close.bind(scope);
  scope.close = () => {
    scope.postMessage(CLOSING_NOTICE);
    close();
  };
}

/**
 * Serves `api` to the main thread from inside a worker (a browser module worker or a Node
 * worker_threads thread), with VecsealErrors crossing intact. Call it once, at the top level of the
 * worker entry: in browsers it must listen before the first message is dispatched.
 * @param api the object whose methods the main thread calls through `Comlink.Remote`
 * @example
 * const api = { async seal(batch: Uint8Array) { ... } };
 * export type SealApi = typeof api;
 * exposeInWorker(api);
 */
export function exposeInWorker(api: object): void {
  installErrorTransfer();
  if (!isNode()) {
    announceClose(globalThis as unknown as { close(): void; postMessage(message: unknown): void });
    expose(api);
    return;
  }
  // Node queues messages on parentPort until a listener is attached, so an async start loses none.
  // A failure is left unhandled on purpose: it ends the thread, and the pool reports a failed start.
  void loadNode().then(({ threads, nodeEndpoint }) => {
    if (threads.parentPort === null) throw new NotSupportedError('exposeInWorker runs only inside a worker (parentPort is null)');
    expose(api, nodeEndpoint(threads.parentPort));
  });
}
