/**
 * A private SoftHSM2 token for one test file (Node): a temporary directory with its own
 * softhsm2.conf (directories.tokendir inside it), SOFTHSM2_CONF pointing at it, and a token
 * initialised there with softhsm2-util and random SO and user PINs. Removed afterwards.
 *
 * SoftHSM2 reads SOFTHSM2_CONF with getenv() in every C_Initialize, so the variable must be in the
 * real process environment before a provider initialises the library. That holds in the main thread
 * of a process (vitest's default 'forks' pool runs each test file in its own child process); in a
 * worker thread process.env is a private copy native code never sees, so createSoftHsmToken refuses
 * to run there rather than silently using the machine's token directory.
 *
 * openTokenAdmin() is a second, independent pkcs11js handle on the same token, standing in for an
 * administrator's tool (pkcs11-tool, the HSM's console): it reads attributes, disables and destroys
 * keys, and creates test-only keys with known values. Unless asked, it never calls C_Finalize, so
 * open it while a provider holds the library and close it (its session only) before the provider closes.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isMainThread } from 'node:worker_threads';
import pkcs11js, { type PKCS11, type Template } from 'pkcs11js';

export const SOFTHSM_LIBRARY = '/usr/lib/softhsm/libsofthsm2.so';
const run = promisify(execFile);

export interface SoftHsmToken {
  libraryPath: string;
  tokenLabel: string;
  userPin: string;
  soPin: string;
  /** The temporary directory holding softhsm2.conf and the token files. */
  dir: string;
  /** Deletes the token directory and restores SOFTHSM2_CONF. Call after every provider closed. */
  remove(): Promise<void>;
}

/** Creates the token; sets process.env.SOFTHSM2_CONF for this process. */
export async function createSoftHsmToken(label = `vecseal-${randomBytes(4).toString('hex')}`): Promise<SoftHsmToken> {
  if (!isMainThread) {
    throw new Error('SoftHSM2 tests must run in the main thread of their process (vitest pool "forks"): SOFTHSM2_CONF set in a worker thread never reaches the library');
  }
  const dir = await mkdtemp(join(tmpdir(), 'vecseal-softhsm-'));
  const tokens = join(dir, 'tokens');
  await mkdir(tokens);
  const conf = join(dir, 'softhsm2.conf');
  await writeFile(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\nslots.mechanisms = ALL\n`);
  const previous = process.env.SOFTHSM2_CONF;
  process.env.SOFTHSM2_CONF = conf;
  const soPin = randomBytes(8).toString('hex');
  const userPin = randomBytes(8).toString('hex');
  try {
    await run('softhsm2-util', ['--init-token', '--free', '--label', label, '--so-pin', soPin, '--pin', userPin], { env: { ...process.env, SOFTHSM2_CONF: conf }, timeout: 30_000 });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    restore(previous);
    // execFile's error repeats the command line, PINs included: keep only its exit code.
    throw new Error(`softhsm2-util --init-token failed (exit ${String((err as { code?: unknown }).code)})`);
  }
  return {
    libraryPath: SOFTHSM_LIBRARY,
    tokenLabel: label,
    userPin,
    soPin,
    dir,
    async remove() {
      await rm(dir, { recursive: true, force: true });
      restore(previous);
    },
  };
}

function restore(previous: string | undefined): void {
  if (previous === undefined) delete process.env.SOFTHSM2_CONF;
  else process.env.SOFTHSM2_CONF = previous;
}

type Handle = Buffer;

export interface TokenAdmin {
  p11: PKCS11;
  api: typeof pkcs11js;
  session: Handle;
  slot: Handle;
  /** Secret keys whose CKA_LABEL is `label`. */
  find(label: string): Handle[];
  /** Every version of a KEK: labels `keyLabel` and `keyLabel#n`. */
  versions(keyLabel: string): Handle[];
  /** Raw attribute values in the order asked. */
  attributes(handle: Handle, types: number[]): Buffer[];
  /** Sets CKA_WRAP, CKA_UNWRAP, CKA_ENCRYPT and CKA_DECRYPT on every version. */
  setUsable(keyLabel: string, usable: boolean): void;
  /** C_DestroyObject on every version. */
  destroy(keyLabel: string): void;
  /** A token AES key with a known value, for known-answer tests only. */
  importAesKey(label: string, value: Uint8Array): Handle;
  /** True when this handle's C_Initialize succeeded (no provider had the library initialised). */
  initialisedHere: boolean;
  /** Closes this handle's session; with finalize, also C_Finalize when it initialised the library. */
  close(options?: { finalize?: boolean }): void;
}

export function openTokenAdmin(token: SoftHsmToken): TokenAdmin {
  const api = pkcs11js;
  const p11 = new api.PKCS11();
  p11.load(token.libraryPath);
  let initialisedHere = true;
  try {
    p11.C_Initialize({ flags: api.CKF_OS_LOCKING_OK });
  } catch (err) {
    if ((err as Error).message !== 'CKR_CRYPTOKI_ALREADY_INITIALIZED') throw err;
    initialisedHere = false;
  }
  const slot = p11.C_GetSlotList(true).find((s) => p11.C_GetTokenInfo(s).label.trim() === token.tokenLabel);
  if (slot === undefined) throw new Error(`token ${token.tokenLabel} not found`);
  const session = p11.C_OpenSession(slot, api.CKF_SERIAL_SESSION | api.CKF_RW_SESSION);
  try {
    p11.C_Login(session, api.CKU_USER, token.userPin);
  } catch (err) {
    if ((err as Error).message !== 'CKR_USER_ALREADY_LOGGED_IN') throw err;
  }
  const findBy = (template: Template): Handle[] => {
    p11.C_FindObjectsInit(session, template);
    try {
      return p11.C_FindObjects(session, 1000);
    } finally {
      p11.C_FindObjectsFinal(session);
    }
  };
  const find = (label: string): Handle[] => findBy([{ type: api.CKA_CLASS, value: api.CKO_SECRET_KEY }, { type: api.CKA_LABEL, value: label }]);
  const versions = (keyLabel: string): Handle[] =>
    findBy([{ type: api.CKA_CLASS, value: api.CKO_SECRET_KEY }]).filter((h) => {
      const label = p11.C_GetAttributeValue(session, h, [{ type: api.CKA_LABEL }])[0]!.value.toString('utf8');
      return label === keyLabel || (label.startsWith(keyLabel) && /^#[0-9]+$/.test(label.slice(keyLabel.length)));
    });
  return {
    p11,
    api,
    session,
    slot,
    find,
    versions,
    attributes: (handle, types) => p11.C_GetAttributeValue(session, handle, types.map((type) => ({ type }))).map((a) => a.value),
    setUsable(keyLabel, usable) {
      for (const h of versions(keyLabel)) {
        p11.C_SetAttributeValue(session, h, [api.CKA_WRAP, api.CKA_UNWRAP, api.CKA_ENCRYPT, api.CKA_DECRYPT].map((type) => ({ type, value: usable })));
      }
    },
    destroy(keyLabel) {
      for (const h of versions(keyLabel)) p11.C_DestroyObject(session, h);
    },
    importAesKey(label, value) {
      return p11.C_CreateObject(session, [
        { type: api.CKA_CLASS, value: api.CKO_SECRET_KEY },
        { type: api.CKA_KEY_TYPE, value: api.CKK_AES },
        { type: api.CKA_TOKEN, value: true },
        { type: api.CKA_PRIVATE, value: true },
        { type: api.CKA_SENSITIVE, value: true },
        { type: api.CKA_EXTRACTABLE, value: false },
        { type: api.CKA_WRAP, value: true },
        { type: api.CKA_UNWRAP, value: true },
        { type: api.CKA_ENCRYPT, value: true },
        { type: api.CKA_DECRYPT, value: true },
        { type: api.CKA_LABEL, value: label },
        { type: api.CKA_VALUE, value: Buffer.from(value) },
      ]);
    },
    initialisedHere,
    close(options) {
      try {
        p11.C_CloseSession(session);
      } catch {
        /* the library was finalised meanwhile */
      }
      if (options?.finalize && initialisedHere) p11.C_Finalize();
    },
  };
}
