/**
 * Starts a real PostgreSQL 15 server (Debian postgresql-15) for a test file: a new cluster in a temp
 * directory (initdb, trust auth, C locale), listening on 127.0.0.1 only, on a free port, without a
 * Unix socket. PostgreSQL refuses to run as root, so under root (CI) initdb and postgres run as the
 * `postgres` user the Debian package creates, in a temp directory handed to that user. stop() asks
 * for a fast shutdown (SIGINT), kills after a bound, and removes the directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export const PG_BIN = '/usr/lib/postgresql/15/bin';
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;

export interface PostgresServer {
  host: string;
  port: number;
  user: string;
  database: string;
  stop(): Promise<void>;
}

/** uid and gid of the `postgres` user when we are root; undefined otherwise (run as ourselves). */
async function runAs(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const line = (await readFile('/etc/passwd', 'utf8')).split('\n').find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('running as root needs the postgres user to start PostgreSQL (apt-get install postgresql-15 creates it)');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function run(file: string, args: string[], options: { cwd: string; user: { uid: number; gid: number } | undefined }): ChildProcess {
  return spawn(join(PG_BIN, file), args, {
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: '/usr/bin:/bin', LANG: 'C', LC_ALL: 'C' },
    ...(options.user ?? {}),
  });
}

function outputOf(child: ChildProcess): () => string {
  let text = '';
  child.stdout?.on('data', (c: Buffer) => void (text += c.toString('utf8')));
  child.stderr?.on('data', (c: Buffer) => void (text += c.toString('utf8')));
  return () => text.slice(-3000);
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startPostgres(): Promise<PostgresServer> {
  const user = await runAs();
  const base = await mkdtemp(join(tmpdir(), 'vecseal-pg-'));
  if (user) await chown(base, user.uid, user.gid);
  const data = join(base, 'data');
  try {
    const init = run('initdb', ['-D', data, '-U', 'vecseal', '--auth=trust', '--locale=C', '--encoding=UTF8', '--no-sync'], { cwd: base, user });
    const initOutput = outputOf(init);
    const initCode = await Promise.race([exitOf(init), sleep(60_000).then(() => 'timeout' as const)]);
    if (initCode !== 0) {
      init.kill('SIGKILL');
      throw new Error(`initdb failed (${initCode}): ${initOutput()}`);
    }
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const server = run(
        'postgres',
        ['-D', data, '-h', '127.0.0.1', '-p', String(port), '-c', 'unix_socket_directories=', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=50'],
        { cwd: base, user },
      );
      const output = outputOf(server);
      const exited = exitOf(server);
      const stop = async (): Promise<void> => {
        server.kill('SIGINT'); // fast shutdown: roll back open transactions, close connections, exit
        if ((await Promise.race([exited, sleep(STOP_TIMEOUT_MS).then(() => 'timeout' as const)])) === 'timeout') {
          server.kill('SIGKILL');
          await exited;
        }
        await rm(base, { recursive: true, force: true });
      };
      const deadline = Date.now() + START_TIMEOUT_MS;
      let gone = false;
      void exited.then(() => void (gone = true));
      while (!gone && Date.now() < deadline) {
        const client = new pg.Client({ host: '127.0.0.1', port, user: 'vecseal', database: 'postgres', connectionTimeoutMillis: 2_000 });
        try {
          await client.connect();
          await client.end();
          return { host: '127.0.0.1', port, user: 'vecseal', database: 'postgres', stop };
        } catch {
          await client.end().catch(() => undefined);
          await sleep(100);
        }
      }
      if (!gone) server.kill('SIGKILL');
      await exited;
      // Another process may have taken the port between freePort() and the bind: try another.
      if (attempt < 3 && /could not bind|Address already in use/i.test(output())) continue;
      throw new Error(`PostgreSQL did not start within ${START_TIMEOUT_MS} ms: ${output()}`);
    }
  } catch (err) {
    await rm(base, { recursive: true, force: true });
    throw err;
  }
}
