/**
 * What the providers talk to during `npm run bench:kms`: the local protocol servers in a child
 * process (servers.ts), a private SoftHSM2 token (test/kms/_softhsm.ts, the library loaded into this
 * process) and a private PyKMIP server (test/kms/_pykmip.ts, a Python child process over TLS). Each
 * is started on first use and stopped by stopAll(), also on Ctrl-C.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startPyKmip, type PyKmipServer } from '../../test/kms/_pykmip.js';
import { createSoftHsmToken, type SoftHsmToken } from '../../test/kms/_softhsm.js';
import type { LocalServerInfo } from './servers.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');
const START_TIMEOUT_MS = 60_000;

const cleanups: (() => Promise<void>)[] = [];

/** Stops everything started so far, newest first. */
export async function stopAll(): Promise<void> {
  while (cleanups.length > 0) {
    try {
      await cleanups.pop()!();
    } catch (err) {
      console.error(`cleanup failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

let servers: Promise<LocalServerInfo> | undefined;

/** The local protocol servers, in one child process (`node --import tsx bench/kms/servers.ts`). */
export function localServers(): Promise<LocalServerInfo> {
  servers ??= new Promise<LocalServerInfo>((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(HERE, 'servers.ts')], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    cleanups.push(async () => {
      child.stdin!.end(); // servers.ts stops when its stdin closes
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    });
    const timer = setTimeout(() => reject(new Error('the local servers did not start within 60 s')), START_TIMEOUT_MS);
    child.once('exit', (code) => reject(new Error(`the local servers' process exited (code ${code}) before it was ready`)));
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolve(JSON.parse(line) as LocalServerInfo);
    });
  });
  return servers;
}

let softHsm: Promise<SoftHsmToken> | undefined;

/** A private SoftHSM2 token (sets SOFTHSM2_CONF for this process). */
export function softHsmToken(): Promise<SoftHsmToken> {
  softHsm ??= createSoftHsmToken(`vecseal-bench`).then((token) => {
    cleanups.push(() => token.remove());
    return token;
  });
  return softHsm;
}

let pyKmip: Promise<PyKmipServer> | undefined;

/** A private PyKMIP server on 127.0.0.1 with its own CA and client certificate. */
export function pyKmipServer(): Promise<PyKmipServer> {
  pyKmip ??= startPyKmip({ startTimeoutMs: START_TIMEOUT_MS }).then((server) => {
    cleanups.push(() => server.stop());
    return server;
  });
  return pyKmip;
}

function quiet(file: string, args: string[]): string {
  try {
    return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 20_000 }).trim();
  } catch {
    return 'unknown';
  }
}

/** Versions of the real counterparts, as installed. */
export function counterpartVersions(): { softHsm2: string; pyKmip: string } {
  return {
    softHsm2: `${quiet('softhsm2-util', ['--version'])} (Debian ${quiet('dpkg-query', ['-W', '-f', '${Version}', 'softhsm2'])})`,
    pyKmip: `${quiet('/usr/bin/python3', ['-c', 'import kmip; print(kmip.__version__)'])} (Debian python3-pykmip ${quiet('dpkg-query', ['-W', '-f', '${Version}', 'python3-pykmip'])})`,
  };
}
