/**
 * The KEKs of `npm start`, one file per version in <data>/kek/: kek-1, kek-2, ... The newest
 * wraps new DEKs; rotate() makes the next one and retire() ends an old one once every DEK has
 * been re-wrapped away from it.
 *
 * - webcrypto: kek-<n>.json holds 32 random bytes (base64) with a check value, imported with
 *   WebCryptoKeyProvider.importRaw as a non-extractable AES-256-GCM CryptoKey and wiped from JS
 *   memory at once. Node has no IndexedDB, so WebCryptoKeyProvider.persistent() (which keeps the
 *   CryptoKey itself) is not available here: a key file is the Node form of a local KEK. Retiring
 *   deletes the file. In production the KEK belongs in a KMS or an HSM: see --provider pkcs11.
 * - pkcs11: kek-<n>.pkcs11.json only names a key generated inside the token (Pkcs11Provider.generateKek:
 *   CKA_SENSITIVE, not extractable); its bytes never exist outside the token.
 *
 * No file's content is ever printed: not the key, not its check value.
 */
import { access, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { NotSupportedError, WebCryptoKeyProvider, type KeyProvider } from '../../src/index.js';
import type { Pkcs11Provider } from '../../src/node.js';
import { PIN_ENV, type Pkcs11Settings, type ProviderName } from './cli.js';
import { writeFileAtomic, type DataFolder } from './data-folder.js';
import { StartError, systemCode } from './fail.js';

const KEK_FILE_FORMAT = 'vecseal-start-kek/v1';
const KEK_BYTES = 32;
const CHECK_LABEL = 'vecseal-start/kek-check/v1\0';

export interface KekVersion {
  /** 'kek-<n>': the kekId in wrapped DEKs (pkcs11: part of it). */
  name: string;
  version: number;
  provider: KeyProvider;
  /** Where it lives, for the output. */
  where: string;
}

export interface KekRing {
  /** The newest version: it wraps new DEKs. */
  current: KekVersion;
  /** Older versions still on disk (left by an interrupted rotation): they unwrap DEKs not yet re-wrapped. */
  previous: KekVersion[];
  /** True when this run created kek-1. */
  created: boolean;
  /** What the KEK is, for the output. */
  kind: string;
  /** The name a DEK's wrapped.kekId refers to, or undefined for a KEK this ring does not know. */
  nameOf(kekId: string): string | undefined;
  /** Makes version current + 1 and returns it; `current` moves only when commit() is called. */
  next(): Promise<KekVersion>;
  commit(version: KekVersion): void;
  /** Ends an old version: its file is deleted (webcrypto) or its token key destroyed (pkcs11). @returns what happened */
  retire(version: KekVersion): Promise<string>;
  close(): Promise<void>;
}

interface KekFile {
  format: typeof KEK_FILE_FORMAT;
  kekId: string;
  installId: string;
  algorithm: 'A256GCM';
  /** base64 of the 32 key bytes. */
  key: string;
  /** Hex SHA-256 of CHECK_LABEL || key, first 16 bytes: catches a damaged file before the key is used. */
  check: string;
  createdAt: string;
}

interface Pkcs11Ref {
  format: typeof KEK_FILE_FORMAT;
  kekId: string;
  installId: string;
  tokenLabel: string;
  keyLabel: string;
  createdAt: string;
}

async function checkValue(key: Uint8Array): Promise<string> {
  const label = new TextEncoder().encode(CHECK_LABEL);
  const input = new Uint8Array(label.length + key.length);
  input.set(label);
  input.set(key, label.length);
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', input));
  input.fill(0);
  return Array.from(digest.subarray(0, 16), (b) => b.toString(16).padStart(2, '0')).join('');
}

function fileName(provider: ProviderName, version: number): string {
  return provider === 'webcrypto' ? `kek-${version}.json` : `kek-${version}.pkcs11.json`;
}

/** The versions with a file in kek/, oldest first. */
async function listVersions(dir: string, provider: ProviderName): Promise<number[]> {
  const pattern = provider === 'webcrypto' ? /^kek-([1-9][0-9]{0,8})\.json$/ : /^kek-([1-9][0-9]{0,8})\.pkcs11\.json$/;
  return (await readdir(dir))
    .map((name) => pattern.exec(name)?.[1])
    .filter((v): v is string => v !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

async function readJson(path: string, name: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new StartError(`cannot read the KEK file ${path} (${systemCode(err) ?? 'error'})`);
  }
  try {
    const value = JSON.parse(text) as unknown;
    if (value === null || typeof value !== 'object') throw new Error('not an object');
    return value as Record<string, unknown>;
  } catch {
    throw new StartError(`the KEK file ${path} is corrupted (not JSON): restore ${name} from a backup; without it the DEKs it wraps cannot be opened`);
  }
}

function checkHeader(file: Record<string, unknown>, path: string, name: string, installId: string): void {
  if (file.format !== KEK_FILE_FORMAT || file.kekId !== name) {
    throw new StartError(`the KEK file ${path} is corrupted (not a ${KEK_FILE_FORMAT} file for ${name}): restore it from a backup`);
  }
  if (file.installId !== installId) {
    throw new StartError(`the KEK file ${path} belongs to another data folder: put back this folder's ${name}, or start over with a new --data`);
  }
}

// ---- webcrypto ----

async function loadWebCrypto(path: string, name: string, version: number, installId: string): Promise<KekVersion> {
  const file = await readJson(path, name);
  checkHeader(file, path, name, installId);
  const raw = typeof file.key === 'string' && /^[A-Za-z0-9+/]{43}=$/.test(file.key) ? new Uint8Array(Buffer.from(file.key, 'base64')) : undefined;
  try {
    if (raw === undefined || raw.length !== KEK_BYTES || file.algorithm !== 'A256GCM' || file.check !== (await checkValue(raw))) {
      throw new StartError(`the KEK file ${path} is corrupted (its key does not match its check value): restore ${name} from a backup; without it the DEKs it wraps cannot be opened`);
    }
    const provider = await WebCryptoKeyProvider.importRaw(raw, { kekId: name, algorithm: 'A256GCM' });
    return { name, version, provider, where: path };
  } finally {
    raw?.fill(0);
  }
}

async function createWebCrypto(path: string, name: string, version: number, installId: string): Promise<KekVersion> {
  const raw = crypto.getRandomValues(new Uint8Array(KEK_BYTES));
  try {
    const file: KekFile = { format: KEK_FILE_FORMAT, kekId: name, installId, algorithm: 'A256GCM', key: Buffer.from(raw).toString('base64'), check: await checkValue(raw), createdAt: new Date().toISOString() };
    // On disk before first use: a DEK is never wrapped under a KEK that a crash could lose.
    await writeFileAtomic(path, `${JSON.stringify(file, null, 2)}\n`);
    const provider = await WebCryptoKeyProvider.importRaw(raw, { kekId: name, algorithm: 'A256GCM' });
    return { name, version, provider, where: path };
  } finally {
    raw.fill(0);
  }
}

// ---- pkcs11 ----

interface Pkcs11Context {
  modulePath: string;
  tokenLabel: string;
  pin: string;
  open: typeof Pkcs11Provider.open;
  generate: typeof Pkcs11Provider.generateKek;
}

async function pkcs11Context(settings: Pkcs11Settings): Promise<Pkcs11Context> {
  try {
    await access(settings.modulePath);
  } catch {
    throw new StartError(`--provider pkcs11: no PKCS#11 module at ${settings.modulePath} (install softhsm2, or pass --pkcs11-module / set VECSEAL_PKCS11_MODULE)`);
  }
  if (!settings.tokenLabel) throw new StartError('--provider pkcs11 needs a token label: pass --pkcs11-token <label> or set VECSEAL_PKCS11_TOKEN');
  const pin = process.env[PIN_ENV];
  if (!pin) throw new StartError(`--provider pkcs11 needs the token's user PIN in the environment variable ${PIN_ENV}`);
  let mod: typeof import('../../src/node.js');
  try {
    mod = await import('../../src/node.js');
  } catch (err) {
    throw new StartError(`--provider pkcs11 cannot load vecseal/node (${String((err as Error)?.message ?? err).split('\n')[0]})`);
  }
  const P = mod.Pkcs11Provider;
  return { modulePath: settings.modulePath, tokenLabel: settings.tokenLabel, pin, open: P.open.bind(P), generate: P.generateKek.bind(P) };
}

function keyLabelFor(installId: string, version: number): string {
  return `vecseal-start-${installId.slice(0, 8)}-kek-${version}`;
}

async function pkcs11Call<T>(ctx: Pkcs11Context, what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    const message = String((err as Error)?.message ?? err).split('\n')[0] ?? '';
    const hint = /softhsm/i.test(ctx.modulePath) ? ' (SoftHSM2 finds its tokens through SOFTHSM2_CONF)' : '';
    throw new StartError(`--provider pkcs11: ${what} failed: ${message}${/no token labelled/.test(message) ? hint : ''}`, { cause: err });
  }
}

async function loadPkcs11(ctx: Pkcs11Context, path: string, name: string, version: number, installId: string): Promise<KekVersion> {
  const file = await readJson(path, name);
  checkHeader(file, path, name, installId);
  if (typeof file.keyLabel !== 'string' || typeof file.tokenLabel !== 'string') throw new StartError(`the KEK reference ${path} is corrupted (no key or token label)`);
  if (file.tokenLabel !== ctx.tokenLabel) {
    throw new StartError(`${name} lives in token '${file.tokenLabel}', not in '${ctx.tokenLabel}': pass --pkcs11-token ${file.tokenLabel}`);
  }
  const keyLabel = file.keyLabel;
  const provider = await pkcs11Call(ctx, `opening ${name}`, () => ctx.open({ libraryPath: ctx.modulePath, tokenLabel: ctx.tokenLabel, pin: ctx.pin, keyLabel }));
  return { name, version, provider, where: `token '${ctx.tokenLabel}', key '${keyLabel}'` };
}

async function createPkcs11(ctx: Pkcs11Context, path: string, name: string, version: number, installId: string): Promise<KekVersion> {
  const keyLabel = keyLabelFor(installId, version);
  const provider = await pkcs11Call(ctx, `generating ${name} in the token`, () => ctx.generate({ libraryPath: ctx.modulePath, tokenLabel: ctx.tokenLabel, pin: ctx.pin, keyLabel }));
  const ref: Pkcs11Ref = { format: KEK_FILE_FORMAT, kekId: name, installId, tokenLabel: ctx.tokenLabel, keyLabel, createdAt: new Date().toISOString() };
  await writeFileAtomic(path, `${JSON.stringify(ref, null, 2)}\n`);
  return { name, version, provider, where: `token '${ctx.tokenLabel}', key '${keyLabel}'` };
}

// ---- the ring ----

/**
 * Loads every KEK version in <data>/kek/, or creates kek-1 when there is none.
 * @param liveKekIds the kekIds that wrap DEKs in the key store (not destroyed ones): each must be loadable
 * @throws StartError for a damaged, foreign or missing KEK file, or an unusable PKCS#11 setup
 */
export async function openKekRing(folder: DataFolder, provider: ProviderName, pkcs11: Pkcs11Settings, liveKekIds: readonly string[]): Promise<KekRing> {
  const dir = folder.path('kek');
  const ctx = provider === 'pkcs11' ? await pkcs11Context(pkcs11) : undefined;
  const load = (v: number): Promise<KekVersion> => {
    const name = `kek-${v}`;
    const path = join(dir, fileName(provider, v));
    return ctx ? loadPkcs11(ctx, path, name, v, folder.installId) : loadWebCrypto(path, name, v, folder.installId);
  };
  const create = (v: number): Promise<KekVersion> => {
    const name = `kek-${v}`;
    const path = join(dir, fileName(provider, v));
    return ctx ? createPkcs11(ctx, path, name, v, folder.installId) : createWebCrypto(path, name, v, folder.installId);
  };

  const versions = await listVersions(dir, provider);
  const loaded: KekVersion[] = [];
  const closeAll = async (list: KekVersion[]): Promise<void> => {
    for (const k of list) await (k.provider as { close?: () => Promise<void> }).close?.().catch(() => undefined);
  };
  let created = false;
  try {
    if (versions.length === 0) {
      if (liveKekIds.length > 0) {
        throw new StartError(`the key store holds DEKs wrapped by ${[...new Set(liveKekIds)].join(', ')}, but ${dir} has no KEK file: restore the KEK files, or delete the data folder to start over`);
      }
      loaded.push(await create(1));
      created = true;
    } else {
      for (const v of versions) loaded.push(await load(v));
    }
  } catch (err) {
    await closeAll(loaded);
    throw err;
  }
  const ring: KekRing = {
    current: loaded.at(-1)!,
    previous: loaded.slice(0, -1),
    created,
    kind: provider === 'webcrypto' ? 'AES-256-GCM, imported non-extractable into WebCrypto from a key file' : 'AES-256 generated non-extractable inside the PKCS#11 token (RFC 5649 key wrap)',
    nameOf(kekId) {
      return [ring.current, ...ring.previous].find((k) => k.provider.kekId === kekId)?.name;
    },
    next: () => create(ring.current.version + 1),
    commit(version) {
      ring.previous.push(ring.current);
      ring.current = version;
    },
    async retire(version) {
      ring.previous = ring.previous.filter((k) => k !== version);
      const path = join(dir, fileName(provider, version.version));
      let what: string;
      if (provider === 'webcrypto') {
        await (version.provider as WebCryptoKeyProvider).destroy();
        what = 'its key file is deleted';
      } else {
        try {
          await version.provider.destroyKek!();
          what = 'its key is destroyed in the token';
        } catch (err) {
          if (!(err instanceof NotSupportedError)) throw err;
          what = 'its token key stays in the token (this PKCS#11 provider cannot destroy keys); its reference file is deleted';
        }
        await (version.provider as Pkcs11Provider).close();
      }
      await unlink(path);
      return what;
    },
    close: () => closeAll([ring.current, ...ring.previous]),
  };
  // Every live DEK must be wrapped by a KEK we hold, or it can never be opened again.
  const missing = [...new Set(liveKekIds)].filter((id) => ring.nameOf(id) === undefined);
  if (missing.length > 0) {
    await ring.close();
    throw new StartError(`the key store holds DEKs wrapped by ${missing.join(', ')}, which no file in ${dir} provides (wrong or replaced KEK files?): restore them from a backup`);
  }
  return ring;
}
