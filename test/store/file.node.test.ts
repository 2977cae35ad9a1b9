/**
 * FileKeyStore: the store conformance suite (second() = another FileKeyStore.open of the same
 * directory; rawBytes() = every file under it), then crash safety and other processes: torn and
 * damaged audit tails, damaged entry files, stale and live locks, two processes writing at once,
 * and rounds of a writer process killed with SIGKILL at random moments.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { watch } from 'node:fs';
import { appendFile, mkdtemp, readdir, readFile, rm, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { FormatError, ProviderError } from '../../src/errors.js';
import { encodeWrappedKey } from '../../src/kms/provider.js';
import { FileKeyStore } from '../../src/store/file.js';
import type { StoredDek } from '../../src/store/store.js';
import { runStoreSuite } from './_store-suite.js';

const dirs: string[] = [];
async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vecseal-filestore-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else out.push(p);
  }
  return out;
}

runStoreSuite('file', async () => {
  const path = await freshDir();
  let store = await FileKeyStore.open({ path });
  return {
    store,
    second: () => FileKeyStore.open({ path }),
    reopen: async () => {
      await store.close();
      store = await FileKeyStore.open({ path });
      return store;
    },
    rawBytes: async () => Promise.all((await filesUnder(path)).map(async (f) => new Uint8Array(await readFile(f)))),
  };
});

const random = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));
function fakeDek(dekId: string, version = 1): StoredDek {
  const wrapped = { provider: 'test', kekId: 'kek', algorithm: 'A256GCM', bytes: random(60), contextDigest: random(16), checksum: random(16) };
  return { dekId, version, collection: 'docs', tenant: 't', state: 'active', wrapped, createdAt: new Date().toISOString() };
}

const childScript = new URL('./_file-store-child.ts', import.meta.url).pathname;

interface Child {
  proc: ChildProcess;
  lines: Record<string, unknown>[];
  ready: Promise<void>;
  exited: Promise<number | null>;
}

function startChild(args: string[]): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', childScript, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  let stderr = '';
  let partial = '';
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((res, rej) => {
    onReady = res;
    setTimeout(() => rej(new Error(`the child did not start within 30 s: ${stderr.slice(0, 2000)}`)), 30_000).unref();
  });
  proc.stdout!.on('data', (chunk: Buffer) => {
    partial += chunk.toString('utf8');
    const parts = partial.split('\n');
    partial = parts.pop()!;
    for (const p of parts) {
      const msg = JSON.parse(p) as Record<string, unknown>;
      lines.push(msg);
      if ('ready' in msg) onReady();
    }
  });
  proc.stderr!.on('data', (chunk: Buffer) => void (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | null>((res) => proc.on('exit', (code) => res(code)));
  void exited.then((code) => {
    if (code !== 0 && code !== null) console.error(`child exited ${code}: ${stderr.slice(0, 2000)}`);
  });
  return { proc, lines, ready, exited };
}

/** Resolves at the first change in any of `dirs` (or after 2 s), having sent the child SIGKILL. */
async function killOnFileEvent(child: Child, dirs: string[]): Promise<void> {
  await new Promise<void>((resolve) => {
    const watchers = dirs.map((d) => watch(d, () => done()));
    const timer = setTimeout(() => done(), 2_000);
    function done(): void {
      child.proc.kill('SIGKILL');
      clearTimeout(timer);
      for (const w of watchers) w.close();
      resolve();
    }
  });
}

/** A pid that surely belongs to no process: one that just exited. */
async function deadPid(): Promise<number> {
  const p = spawn(process.execPath, ['-e', '0']);
  await new Promise((r) => p.on('exit', r));
  return p.pid!;
}

async function auditRecord(seq: number, line: string): Promise<Uint8Array> {
  const { frameAudit } = await import('../../src/store/_file-format.js');
  return frameAudit(seq, new TextEncoder().encode(line));
}

async function storeWithThreeLines(): Promise<{ path: string; size: number }> {
  const path = await freshDir();
  const store = await FileKeyStore.open({ path });
  for (let seq = 1; seq <= 3; seq++) expect(await store.appendAudit({ seq, line: `{"seq":${seq}}` })).toBe(true);
  await store.close();
  return { path, size: (await stat(join(path, 'audit.log'))).size };
}

describe('FileKeyStore on disk', () => {
  it('lays out one checksummed file per entry, leaves no temp or lock files', async () => {
    const path = await freshDir();
    const store = await FileKeyStore.open({ path });
    await store.createDek(fakeDek('dek/a', 1));
    await store.createDek(fakeDek('dek/a', 2));
    await store.setMeta('m', 'v');
    await store.appendAudit({ seq: 1, line: '{}' });
    await store.close();
    const deks = await readdir(join(path, 'deks'));
    expect(deks).toHaveLength(2);
    const bytes = await readFile(join(path, 'deks', deks[0]!));
    expect(bytes.subarray(0, 4).toString('latin1')).toBe('VSKD');
    expect(bytes.includes(Buffer.from('VSWK'))).toBe(true);
    expect(await readdir(join(path, 'meta'))).toHaveLength(1);
    expect(await readdir(join(path, 'tmp'))).toEqual([]);
    expect((await readdir(path)).sort()).toEqual(['audit.log', 'deks', 'meta', 'tmp']);
  });

  const torn: [string, (r: Uint8Array) => Uint8Array][] = [
    ['a record cut off after its header', (r) => r.subarray(0, 20)],
    ['a record cut off inside its header', (r) => r.subarray(0, 7)],
    ['blocks the file system extended but never filled (zeros)', () => new Uint8Array(4096)],
    ['a whole-length last record whose payload never arrived', (r) => Uint8Array.from(r, (b, i) => (i < 12 ? b : 0))],
  ];
  for (const [what, cut] of torn) {
    it(`cuts off a torn audit tail at open: ${what}`, async () => {
      const { path, size } = await storeWithThreeLines();
      await appendFile(join(path, 'audit.log'), cut(await auditRecord(4, '{"seq":4,"pad":"' + 'y'.repeat(100) + '"}')));
      const store = await FileKeyStore.open({ path });
      expect((await stat(join(path, 'audit.log'))).size).toBe(size);
      expect((await store.readAudit()).map((l) => l.seq)).toEqual([1, 2, 3]);
      expect(await store.appendAudit({ seq: 4, line: '{"seq":4}' })).toBe(true);
      expect((await store.readAudit(4))[0]!.line).toBe('{"seq":4}');
      await store.close();
    });
  }

  it('refuses, and keeps, an audit log damaged anywhere but a torn tail', async () => {
    const { path, size } = await storeWithThreeLines();
    const log = join(path, 'audit.log');
    const bytes = await readFile(log);
    bytes[20]! ^= 1; // inside record 1's payload, with records 2 and 3 after it
    await writeFile(log, bytes);
    await expect(FileKeyStore.open({ path })).rejects.toBeInstanceOf(FormatError);
    expect((await stat(log)).size).toBe(size);
    // An out-of-sequence record (a copy of record 3 appended) is damage too, not a tail to cut.
    const other = await storeWithThreeLines();
    await appendFile(join(other.path, 'audit.log'), await auditRecord(3, '{"seq":3}'));
    await expect(FileKeyStore.open({ path: other.path })).rejects.toThrow(/seq 3 where 4 belongs/);
  });

  it('a second handle that indexed the log keeps reading it after another cuts a torn tail', async () => {
    const { path } = await storeWithThreeLines();
    const reader = await FileKeyStore.open({ path });
    expect(await reader.readAudit()).toHaveLength(3);
    await appendFile(join(path, 'audit.log'), (await auditRecord(4, '{"seq":4}')).subarray(0, 15));
    expect(await reader.readAudit()).toHaveLength(3); // an unfinished tail is not read, nor cut, without the lock
    const writer = await FileKeyStore.open({ path });
    expect(await writer.appendAudit({ seq: 4, line: '{"four":4}' })).toBe(true);
    expect((await reader.readAudit(4)).map((l) => l.line)).toEqual(['{"four":4}']);
    await reader.close();
    await writer.close();
  });

  it('a handle reading many times at once while another appends indexes each record once', async () => {
    const path = await freshDir();
    const [writer, reader] = [await FileKeyStore.open({ path }), await FileKeyStore.open({ path })];
    const reads: Promise<unknown>[] = [];
    for (let seq = 1; seq <= 30; seq++) {
      await writer.appendAudit({ seq, line: `{"seq":${seq}}` });
      reads.push(reader.readAudit(), reader.readAudit(seq), reader.appendAudit({ seq, line: 'late' }));
    }
    await Promise.all(reads);
    const seen = await reader.readAudit();
    expect(seen.map((l) => l.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(await writer.readAudit()).toEqual(seen);
    await reader.close();
    await writer.close();
  });

  it('reports a damaged DEK or meta file instead of returning part of it', async () => {
    const path = await freshDir();
    const store = await FileKeyStore.open({ path });
    await store.createDek(fakeDek('dek/a'));
    await store.setMeta('m', 'value');
    const [dekFile] = await readdir(join(path, 'deks'));
    const bytes = await readFile(join(path, 'deks', dekFile!));
    bytes[bytes.length - 20]! ^= 0x40;
    await writeFile(join(path, 'deks', dekFile!), bytes);
    await expect(store.getDek('dek/a', 1)).rejects.toBeInstanceOf(FormatError);
    await expect(store.listDeks()).rejects.toBeInstanceOf(FormatError);
    const [metaFile] = await readdir(join(path, 'meta'));
    await truncate(join(path, 'meta', metaFile!), 10);
    await expect(store.getMeta('m')).rejects.toBeInstanceOf(FormatError);
    await store.close();
  });

  it('removes half-written temp files at open', async () => {
    const path = await freshDir();
    await (await FileKeyStore.open({ path })).close();
    await writeFile(join(path, 'tmp', 'w-0000'), 'half a DEK file');
    await (await FileKeyStore.open({ path })).close();
    expect(await readdir(join(path, 'tmp'))).toEqual([]);
  });
});

describe('FileKeyStore lock', () => {
  const holder = async (pid: number, extra: object = {}): Promise<string> => {
    const ns = await import('node:fs/promises').then((fs) => fs.readlink('/proc/self/ns/pid').catch(() => undefined));
    return JSON.stringify({ host: hostname(), ns, pid, thread: 0, start: undefined, token: crypto.randomUUID(), ...extra });
  };

  it('takes over a lock left by a dead process, and one of a reused pid', async () => {
    const path = await freshDir();
    await (await FileKeyStore.open({ path })).close();
    await writeFile(join(path, 'lock'), await holder(await deadPid()));
    const started = Date.now();
    const store = await FileKeyStore.open({ path, lockTimeoutMs: 5_000 });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await store.createDek(fakeDek('dek/a'))).toBe(true);
    // Our own pid and thread but a token we do not hold: a process before us with the same pid (container restart).
    await writeFile(join(path, 'lock'), await holder(process.pid, { thread: threadId }));
    expect(await store.setMeta('k', 'v')).toBe(true);
    // A live pid whose start time differs from the lock's: the pid was reused by a later process.
    await writeFile(join(path, 'lock'), await holder(process.ppid, { start: '1' }));
    expect(await store.appendAudit({ seq: 1, line: '{}' })).toBe(true);
    // An empty lock from before this boot: power was lost before its content reached the disk.
    await writeFile(join(path, 'lock'), '');
    await utimes(join(path, 'lock'), 1_000, 1_000);
    expect(await store.appendAudit({ seq: 2, line: '{}' })).toBe(true);
    expect((await readdir(path)).filter((n) => n.startsWith('lock'))).toEqual([]);
    await store.close();
    // The same from this boot could be anyone's: it is waited for, not removed.
    await writeFile(join(path, 'lock'), 'not a lock');
    const busy = await FileKeyStore.open({ path, lockTimeoutMs: 200 }).catch((e: unknown) => e);
    expect((busy as ProviderError).providerCode).toBe('LOCK_TIMEOUT');
  });

  it('waits for a live holder, fails past the timeout naming the lock, and goes on once it is gone', async () => {
    const path = await freshDir();
    const store = await FileKeyStore.open({ path, lockTimeoutMs: 400 });
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      const start = await readFile(`/proc/${sleeper.pid}/stat`, 'latin1').then((t) => t.slice(t.lastIndexOf(')') + 2).split(' ')[19]);
      await writeFile(join(path, 'lock'), await holder(sleeper.pid!, { start }));
      const failed = await store.createDek(fakeDek('dek/a')).catch((e: unknown) => e);
      expect(failed).toBeInstanceOf(ProviderError);
      expect((failed as ProviderError).providerCode).toBe('LOCK_TIMEOUT');
      expect((failed as Error).message).toContain(join(path, 'lock'));
      expect(await readdir(join(path, 'deks'))).toEqual([]);
      // Reads take no lock.
      expect(await store.listDeks()).toEqual([]);
    } finally {
      sleeper.kill('SIGKILL');
      await new Promise((r) => sleeper.on('exit', r));
    }
    expect(await store.createDek(fakeDek('dek/a'))).toBe(true);
    await store.close();
  });
});

describe('FileKeyStore across processes', () => {
  it('two processes writing at once: a gap-free audit log, exact usage, each DEK created once', async () => {
    const path = await freshDir();
    const store = await FileKeyStore.open({ path });
    await store.createDek(fakeDek('dek/shared'));
    const n = 60;
    const children = ['a', 'b'].map((name) => startChild(['contend', path, name, String(n)]));
    const codes = await Promise.all(children.map((c) => c.exited));
    expect(codes).toEqual([0, 0]);
    const tallies = children.map((c) => c.lines.find((l) => 'done' in l) as { conflicts: number; created: number });
    const audit = await store.readAudit();
    expect(audit.map((l) => l.seq)).toEqual(Array.from({ length: 2 * n }, (_, i) => i + 1));
    for (const w of ['a', 'b']) expect(audit.map((l) => JSON.parse(l.line)).filter((l) => l.writer === w).map((l) => l.i)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect((await store.getDek('dek/shared', 1))!.sealedRecords).toBe(2 * n);
    expect(tallies[0]!.created + tallies[1]!.created).toBe(n);
    expect(await store.listDeks({ collection: 'docs' })).toHaveLength(n + 1);
    console.log(`two writers, ${n} appends each: ${tallies[0]!.conflicts + tallies[1]!.conflicts} lost seq races retried`);
    await store.close();
  });

  it('a writer killed with SIGKILL at random moments leaves a store that opens whole, every time', async () => {
    const path = await freshDir();
    const rounds = 20;
    let staleLocks = 0;
    let leftTemps = 0;
    let lastAudit = 0;
    for (let round = 0; round < rounds; round++) {
      const child = startChild(['crash', path]);
      await child.ready;
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 250));
      // Every other round the kill waits for the writer to touch a file (inotify), to land mid-write
      // more often than a random moment does: a writer spends most of its time in fsync.
      if (round % 2) await killOnFileEvent(child, [join(path, 'deks'), join(path, 'tmp')]);
      child.proc.kill('SIGKILL');
      await child.exited;
      const top = await readdir(path);
      if (top.includes('lock')) staleLocks++;
      if ((await readdir(join(path, 'tmp'))).some((n) => n.startsWith('w-'))) leftTemps++;

      const started = Date.now();
      const store = await FileKeyStore.open({ path, lockTimeoutMs: 5_000 });
      expect(Date.now() - started).toBeLessThan(3_000); // a dead writer's lock is taken over, not waited out
      try {
        const deks = await store.listDeks();
        for (const d of deks) {
          const again = (await store.getDek(d.dekId, d.version))!;
          // Compared as buffers: toEqual walks megabyte arrays element by element, far too slowly.
          expect(Buffer.compare(encodeWrappedKey(again.wrapped), encodeWrappedKey(d.wrapped))).toBe(0);
          expect({ ...again, wrapped: undefined }).toEqual({ ...d, wrapped: undefined });
          expect(d.wrapped.bytes.length).toBeGreaterThanOrEqual(40);
          expect(d.wrapped.bytes.every((b) => b === 0xa5)).toBe(true);
        }
        const audit = await store.readAudit();
        expect(audit.map((l) => l.seq)).toEqual(Array.from({ length: audit.length }, (_, i) => i + 1));
        for (const l of audit) expect(JSON.parse(l.line).seq).toBe(l.seq);
        // Whatever the writer reported as done before it died is there.
        for (const msg of child.lines) {
          if ('dek' in msg) expect(deks.some((d) => d.dekId === msg.dek)).toBe(true);
          if ('state' in msg) expect(deks.find((d) => d.dekId === msg.state)!.state).toBe('decrypt-only');
          if ('usage' in msg) expect(deks.find((d) => d.dekId === msg.usage)!.sealedRecords).toBeGreaterThanOrEqual(msg.total as number);
          if ('audit' in msg) expect(audit.length).toBeGreaterThanOrEqual(msg.audit as number);
          if ('meta' in msg) expect(Number(await store.getMeta('progress'))).toBeGreaterThanOrEqual(msg.meta as number);
        }
        expect(audit.length).toBeGreaterThanOrEqual(lastAudit);
        lastAudit = audit.length;
        expect(await readdir(join(path, 'tmp'))).toEqual([]);
        expect(await store.appendAudit({ seq: audit.length + 1, line: JSON.stringify({ seq: audit.length + 1, op: 'check' }) })).toBe(true);
      } finally {
        await store.close();
      }
    }
    console.log(`SIGKILL rounds: ${rounds}; a dead writer's lock was left in ${staleLocks}, half-written temp files in ${leftTemps}; audit lines: ${lastAudit}`);
    expect(lastAudit).toBeGreaterThan(rounds);
    expect(staleLocks).toBeGreaterThan(0);
  });
});
