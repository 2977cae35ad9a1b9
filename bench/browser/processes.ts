/**
 * Everything bench/run.ts starts outside its own process (the WebKitWebDriver + Xvfb group) and
 * the cleanups that must run however the run ends: normal exit, a failed browser, a timeout or
 * Ctrl-C. Children are started in their own process group so one signal reaches Xvfb, the driver
 * and the MiniBrowser it launched, and nothing else.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

type Cleanup = () => Promise<void>;
/** Pending cleanups by registration number, so a caller can undo just what a step started. */
const cleanups = new Map<number, Cleanup>();
let registered = 0;

/** Registers a cleanup; the returned function runs it once and unregisters it. */
export function onCleanup(fn: Cleanup): () => Promise<void> {
  const id = ++registered;
  let done = false;
  const once: Cleanup = async () => {
    if (done) return;
    done = true;
    cleanups.delete(id);
    await fn();
  };
  cleanups.set(id, once);
  return once;
}

/** A mark for runCleanups: only what was registered after it is cleaned up. */
export function cleanupMark(): number {
  return registered;
}

/**
 * Runs pending cleanups registered after `mark` (all by default), newest first; each is bounded so
 * a hung one cannot block the rest or the exit.
 */
export async function runCleanups(mark = 0): Promise<void> {
  const due = [...cleanups].filter(([id]) => id > mark).sort(([a], [b]) => b - a);
  for (const [, fn] of due) {
    await withTimeout(fn(), 15_000, 'cleanup').catch((err: unknown) => console.error(`cleanup failed: ${String(err)}`));
  }
}

/** A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${Math.round(ms / 1000)} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface Group {
  readonly child: ChildProcess;
  /** The last few KiB it wrote to stderr, for error messages. */
  stderr(): string;
  /** Terminates the whole group (SIGTERM, then SIGKILL); safe to call twice. */
  stop(): Promise<void>;
  /** True when the command could not be started at all. */
  hasFailed(): boolean;
}

/** Starts a command as the leader of a new process group and registers its group's termination. */
export function startGroup(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Group {
  const child = spawn(command, args, { detached: true, stdio: ['ignore', 'ignore', 'pipe'], env });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000); // kept for error messages only
  });
  let failed = false;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    // A command that cannot start (not installed) emits 'error' and never 'exit'.
    child.once('error', (err) => {
      failed = true;
      stderr += `${err.message}\n`;
      resolve();
    });
  });
  const stop = onCleanup(async () => {
    if (child.pid === undefined || failed) return;
    signalGroup(child.pid, 'SIGTERM');
    const gone = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
    if (!gone) signalGroup(child.pid, 'SIGKILL');
    await Promise.race([exited, sleep(2000)]);
    // The leader may exit before its group (xvfb-run kills Xvfb on its way out): reap stragglers.
    signalGroup(child.pid, 'SIGKILL');
  });
  return { child, stderr: () => stderr, stop, hasFailed: () => failed };
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the whole group is already gone.
  }
}

/** Waits until `url` answers 200, or throws after `ms` or when the group serving it exits. */
export async function waitForHttp(url: string, ms: number, group?: Group): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (group && (group.hasFailed() || group.child.exitCode !== null || group.child.signalCode !== null)) {
      const how = group.hasFailed() ? 'could not start' : `exited (${group.child.exitCode ?? group.child.signalCode})`;
      throw new Error(`${group.child.spawnfile} ${how} before ${url} answered: ${group.stderr()}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${Math.round(ms / 1000)} s`);
    await sleep(200);
  }
}
