/**
 * A cross-process lock on a directory, for FileKeyStore's read-check-write sections. Node has no
 * flock(2), so the lock is a file that exists while it is held, made the portable way: link(2) of a
 * finished temp file onto the lock name fails if the name exists, so the lock appears whole or not
 * at all. It names its holder: host, pid namespace, pid, thread, the pid's start time and a token.
 *
 * A holder that died (SIGKILL, power loss) leaves its lock behind. A lock is stale when its holder's
 * pid is gone, or the pid now belongs to a process that started later (pid reuse, e.g. a restarted
 * container), or it carries this thread's identity with a token this thread does not hold, or it is
 * unreadable and older than the running kernel (power lost before its bytes reached the disk).
 * Taking over races others that noticed too: whoever first takes `<lock>.<stale token>` (a lock
 * itself, so taken over the same way if its taker dies) may remove the stale lock, and only after
 * re-reading that the stale token is still there, so a fresh lock is never removed by a slow taker.
 * Holders on another host or in another pid namespace cannot be probed: their locks are waited for
 * and, past the timeout, reported with the lock's path.
 */
import { randomUUID } from 'node:crypto';
import { link, readFile, readdir, readlink, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname, uptime } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { ProviderError } from '../errors.js';

interface Holder {
  host: string;
  /** The pid namespace (/proc/self/ns/pid); pids of another namespace mean nothing here. */
  ns: string | undefined;
  pid: number;
  thread: number;
  /** /proc/<pid>/stat start time in clock ticks since boot; undefined where /proc is missing. */
  start: string | undefined;
  token: string;
}

/** A lock file whose content is not a holder: identified by its inode, aged by its mtime. */
interface Unreadable {
  unreadable: true;
  token: string;
  mtimeMs: number;
}

/** Tokens of the locks this thread holds now (a lock with our identity but another token is stale). */
const held = new Set<string>();
/** Per lock path, the tail of this thread's queue: handles of one process wait in memory, not by polling. */
const queues = new Map<string, Promise<unknown>>();
/** Deepest takeover chain (<lock>.<t1>.<t2>...) followed; each level needs another taker to die mid-takeover. */
const MAX_TAKEOVER_DEPTH = 4;
const MAX_WAIT_MS = 20;

let identity: Promise<{ ns: string | undefined; start: string | undefined }> | undefined;

async function startTimeOf(pid: number): Promise<string | undefined> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, 'latin1');
    // The command name (field 2) may hold spaces and parentheses: count fields after its closing ')'.
    return text.slice(text.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

async function self(token: string): Promise<Holder> {
  identity ??= (async () => ({ ns: await readlink('/proc/self/ns/pid').catch(() => undefined), start: await startTimeOf(process.pid) }))();
  const { ns, start } = await identity;
  return { host: hostname(), ns, pid: process.pid, thread: threadId, start, token };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether the lock's holder may still be running (unknown counts as running). */
async function holderAlive(h: Holder | Unreadable): Promise<boolean> {
  if ('unreadable' in h) return h.mtimeMs >= Date.now() - uptime() * 1000;
  const me = await self('');
  if (h.host !== me.host || h.ns !== me.ns) return true;
  if (h.pid === process.pid && h.thread === threadId) return held.has(h.token);
  if (h.pid === process.pid) return true; // another thread of this process cannot be probed
  if (!pidAlive(h.pid)) return false;
  if (h.start === undefined) return true;
  const start = await startTimeOf(h.pid);
  return start === undefined || start === h.start;
}

/** The lock's holder, or 'gone' if the file vanished. */
async function readHolder(path: string): Promise<Holder | Unreadable | 'gone'> {
  try {
    const [text, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    try {
      const h = JSON.parse(text) as Holder;
      if (typeof h.pid === 'number' && typeof h.token === 'string' && typeof h.host === 'string' && typeof h.thread === 'number') return h;
    } catch {
      // not JSON: unreadable
    }
    return { unreadable: true, token: `inode${info.ino}`, mtimeMs: info.mtimeMs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw err;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function busy(path: string, h: Holder | Unreadable): ProviderError {
  const who = 'unreadable' in h ? 'an unreadable lock file' : `pid ${h.pid} on ${h.host}`;
  return new ProviderError(`the key store lock ${path} is held by ${who} past the lock timeout; if that process is gone, remove the file`, {
    kind: 'timeout',
    providerCode: 'LOCK_TIMEOUT',
  });
}

function ignoreMissing(err: unknown): void {
  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
}

async function acquire(path: string, tempDir: string, deadline: number, depth: number): Promise<string> {
  const token = randomUUID();
  const temp = join(tempDir, `lock-${process.pid}-${token}`);
  await writeFile(temp, JSON.stringify(await self(token)), { flag: 'wx' });
  try {
    for (let wait = 1; ; wait = Math.min(wait * 2, MAX_WAIT_MS)) {
      try {
        await link(temp, path);
        held.add(token);
        return token;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const h = await readHolder(path);
      if (h === 'gone') continue;
      if (depth < MAX_TAKEOVER_DEPTH && !(await holderAlive(h))) {
        const takeover = `${path}.${h.token}`;
        const mine = await acquire(takeover, tempDir, deadline, depth + 1);
        try {
          const still = await readHolder(path);
          if (still !== 'gone' && still.token === h.token) await unlink(path).catch(ignoreMissing);
        } finally {
          await release(takeover, mine);
        }
        continue;
      }
      if (Date.now() >= deadline) throw busy(path, h);
      await sleep(wait * (0.5 + Math.random()));
    }
  } finally {
    await unlink(temp).catch(ignoreMissing);
  }
}

async function release(path: string, token: string): Promise<void> {
  try {
    const h = await readHolder(path);
    // Only our own lock: if it was taken over (we were wrongly thought dead), the new holder keeps it.
    if (h !== 'gone' && h.token === token) await unlink(path).catch(ignoreMissing);
  } finally {
    // After the unlink: while the file exists, its token must count as held, or a second handle of
    // this thread on an aliased path would think it stale.
    held.delete(token);
  }
}

/**
 * Runs `fn` while holding the lock at `path` (its temp file is made in `tempDir`, same file system).
 * @throws ProviderError kind 'timeout' (providerCode LOCK_TIMEOUT) if a live holder keeps it past `timeoutMs`
 */
export function withFileLock<T>(path: string, tempDir: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  const previous = queues.get(path) ?? Promise.resolve();
  const run = previous.then(async () => {
    const token = await acquire(path, tempDir, Date.now() + timeoutMs, 0);
    try {
      return await fn();
    } finally {
      await release(path, token);
    }
  });
  const tail = run.catch(() => undefined);
  queues.set(path, tail);
  void tail.then(() => {
    if (queues.get(path) === tail) queues.delete(path);
  });
  return run;
}

/**
 * Removes what dead lockers left: takeover files (`<lock>.<token>`) and lock temp files whose
 * holders are gone. Call while holding the lock at `path`.
 */
export async function sweepDeadLocks(path: string, tempDir: string): Promise<void> {
  const prefix = `${basename(path)}.`;
  for (const name of await readdir(dirname(path))) {
    if (!name.startsWith(prefix)) continue;
    const h = await readHolder(join(dirname(path), name));
    if (h !== 'gone' && !(await holderAlive(h))) await unlink(join(dirname(path), name)).catch(ignoreMissing);
  }
  for (const name of await readdir(tempDir)) {
    const m = /^lock-(\d+)-/.exec(name);
    if (m && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]))) await unlink(join(tempDir, name)).catch(ignoreMissing);
  }
}
