/**
 * The data folder of `npm start` (default .vecseal-data/, git-ignored):
 *
 *   vecseal-start.json   manifest: format, install id, provider, run count
 *   run.lock             held while a run uses the folder (PGlite must not be opened twice)
 *   kek/                 KEK files (webcrypto) or references to token keys (pkcs11): kek.ts
 *   keys/                FileKeyStore: wrapped DEKs, the audit log, its checkpoint
 *   audit-signer.json    ECDSA P-256 key pair that signs audit checkpoints and shred receipts
 *   receipts/            shred receipts as JSON
 *   pglite/              the embedded PostgreSQL database with the sealed rows (unless --pg)
 *
 * Files that hold secrets are written 0600 and replaced atomically (temp file, fsync, rename,
 * fsync of the folder): a crash never leaves half a key file.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { ProviderName } from './cli.js';
import { StartError, systemCode } from './fail.js';

export const MANIFEST_FORMAT = 'vecseal-start/v1';
const MANIFEST = 'vecseal-start.json';
const LOCK = 'run.lock';

interface Manifest {
  format: typeof MANIFEST_FORMAT;
  /** Ties the folder's files (and a --pg table) together: a file from another folder is refused. */
  installId: string;
  provider: ProviderName;
  createdAt: string;
  runs: number;
}

export interface DataFolder {
  dir: string;
  installId: string;
  provider: ProviderName;
  /** 1 on the run that created the folder. */
  run: number;
  path(...parts: string[]): string;
  /** Releases the run lock. */
  release(): Promise<void>;
}

/** Writes a file whole or not at all, readable by its owner only. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`);
  const handle = await open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

function parseManifest(text: string, where: string): Manifest {
  let m: Partial<Manifest>;
  try {
    m = JSON.parse(text) as Partial<Manifest>;
  } catch {
    throw new StartError(`${where} is not valid JSON: the data folder is damaged (delete the folder to start over)`);
  }
  if (m?.format !== MANIFEST_FORMAT || typeof m.installId !== 'string' || (m.provider !== 'webcrypto' && m.provider !== 'pkcs11') || !Number.isInteger(m.runs)) {
    throw new StartError(`${where} is not a ${MANIFEST_FORMAT} manifest: the data folder is damaged or was made by something else`);
  }
  return m as Manifest;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return systemCode(err) === 'EPERM';
  }
}

async function lock(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, LOCK);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, 'wx', 0o600);
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => unlink(path).catch(() => undefined);
    } catch (err) {
      if (systemCode(err) !== 'EEXIST') throw err;
      const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new StartError(`another npm start (pid ${pid}) is using the data folder ${dir}; wait for it to end`);
      }
      await unlink(path).catch(() => undefined); // left by a run that crashed
    }
  }
  throw new StartError(`cannot take the run lock ${path}`);
}

/**
 * Opens (or, when missing or empty, creates) the data folder and takes its run lock.
 * @throws StartError when the path is a file, cannot be written, holds unrelated files, has a
 *   damaged manifest, or was made with another provider
 */
export async function openDataFolder(dir: string, provider: ProviderName): Promise<DataFolder> {
  try {
    const info = await stat(dir).catch((err: unknown) => {
      if (systemCode(err) === 'ENOENT') return undefined;
      throw err;
    });
    if (info && !info.isDirectory()) throw new StartError(`the data folder ${dir} is not a folder (pass another --data)`);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const manifestPath = join(dir, MANIFEST);
    const text = await readFile(manifestPath, 'utf8').catch((err: unknown) => {
      if (systemCode(err) === 'ENOENT') return undefined;
      throw err;
    });
    let manifest: Manifest;
    if (text === undefined) {
      const present = (await readdir(dir)).filter((name) => name !== LOCK);
      if (present.length > 0) {
        throw new StartError(`the data folder ${dir} holds other files (${present.slice(0, 3).join(', ')}${present.length > 3 ? ', …' : ''}) and no ${MANIFEST}: pass a new or empty folder with --data`);
      }
      manifest = { format: MANIFEST_FORMAT, installId: randomUUID(), provider, createdAt: new Date().toISOString(), runs: 0 };
    } else {
      manifest = parseManifest(text, manifestPath);
      if (manifest.provider !== provider) {
        throw new StartError(`the data folder ${dir} was made with --provider ${manifest.provider}: run with --provider ${manifest.provider}, or pass another --data for ${provider}`);
      }
    }
    const release = await lock(dir);
    try {
      for (const sub of ['kek', 'receipts']) await mkdir(join(dir, sub), { recursive: true, mode: 0o700 });
      manifest.runs++;
      await writeFileAtomic(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
    } catch (err) {
      await release();
      throw err;
    }
    return { dir, installId: manifest.installId, provider, run: manifest.runs, path: (...parts) => join(dir, ...parts), release };
  } catch (err) {
    if (err instanceof StartError) throw err;
    const code = systemCode(err);
    if (code) throw new StartError(`cannot use the data folder ${dir} (${code}): pass a folder you can write with --data`, { cause: err });
    throw err;
  }
}
