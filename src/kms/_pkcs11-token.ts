/**
 * PKCS#11 v2.40 plumbing for Pkcs11Provider (OASIS "PKCS #11 Cryptographic Token Interface Base
 * Specification v2.40", sections 5.4 general purpose, 5.6 session management, 11.4 sessions):
 * - a Cryptoki library is loaded (dlopen) once per path for the life of the process, and
 *   initialised once while anyone in this package uses it; C_Finalize runs when the last user
 *   closes, and only if this package made the C_Initialize (CKR_CRYPTOKI_ALREADY_INITIALIZED means
 *   someone else in the process owns it);
 * - a token is opened once per (library, token label) and shared by every provider on it, because
 *   PKCS#11 login state belongs to the application, not to a session: one provider logging out
 *   would log out all of them. An "anchor" session holds the CKU_USER login while the token is open;
 * - crypto runs on a small pool of R/W sessions, one operation per session at a time (a session
 *   has one active operation, section 5.6), with callers queued FIFO when all are busy.
 *
 * C_Initialize passes CKF_OS_LOCKING_OK: the *Async calls of pkcs11js run on libuv's thread pool,
 * so the library must lock for concurrent threads (SoftHSM2 disables its mutexes without it).
 *
 * Node-only (pkcs11js is a native addon). Messages name the library path and token label, never
 * the PIN; the PIN supplier is called at login only.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { PKCS11 } from 'pkcs11js';
import { ClosedError, NotSupportedError, ProviderError, VecsealError } from '../errors.js';

export type Pkcs11Api = typeof import('pkcs11js');
/** A PKCS#11 handle (slot, session or object), as pkcs11js represents it. */
export type Handle = Buffer;
/** The user PIN, or a function that returns it when a login is needed. */
export type PinSource = string | (() => string | Promise<string>);

/** CKR_* codes after which the session (or the device behind it) is gone: reopen once. */
const SESSION_LOST = new Set([
  'CKR_SESSION_HANDLE_INVALID',
  'CKR_SESSION_CLOSED',
  'CKR_DEVICE_ERROR',
  'CKR_DEVICE_REMOVED',
  'CKR_TOKEN_NOT_PRESENT',
  'CKR_USER_NOT_LOGGED_IN',
  'CKR_CRYPTOKI_NOT_INITIALIZED',
]);

/** CKR_* codes of a login refused for its PIN or user. */
const PIN_REFUSED = new Set([
  'CKR_PIN_INCORRECT',
  'CKR_PIN_INVALID',
  'CKR_PIN_LEN_RANGE',
  'CKR_PIN_EXPIRED',
  'CKR_PIN_LOCKED',
  'CKR_USER_PIN_NOT_INITIALIZED',
  'CKR_USER_TYPE_INVALID',
  'CKR_USER_ANOTHER_ALREADY_LOGGED_IN',
  'CKR_USER_TOO_MANY_TYPES',
]);

/** The CKR_* name of a pkcs11js error, or undefined for anything else. */
export function ckrOf(err: unknown): string | undefined {
  if (!(err instanceof Error) || err.name !== 'Pkcs11Error') return undefined;
  return /^CKR_[A-Z0-9_]+$/.test(err.message) ? err.message : undefined;
}

export function isSessionLost(err: unknown): boolean {
  return SESSION_LOST.has(ckrOf(err) ?? '');
}

/** A ProviderError for a Cryptoki failure outside the crypto call itself (loading, login, sessions). */
export function cryptokiFailure(what: string, err: unknown): ProviderError {
  const code = ckrOf(err);
  if (code === undefined) return new ProviderError(`${what} failed (${err instanceof Error ? err.name : typeof err})`, { cause: err, kind: 'rejected' });
  const kind = SESSION_LOST.has(code) || code === 'CKR_GENERAL_ERROR' || code === 'CKR_DEVICE_MEMORY' || code === 'CKR_HOST_MEMORY' ? 'unavailable' : 'rejected';
  const hint = PIN_REFUSED.has(code) ? ' (the user PIN was refused)' : '';
  return new ProviderError(`${what} failed: ${code}${hint}`, { cause: err, providerCode: code, kind });
}

let apiPromise: Promise<Pkcs11Api> | undefined;

/** pkcs11js, imported on first use so that vecseal/node loads without it. */
function loadApi(): Promise<Pkcs11Api> {
  apiPromise ??= import('pkcs11js').then(
    (m) => ((m as { default?: Pkcs11Api }).default ?? m) as Pkcs11Api,
    (cause: unknown) => {
      apiPromise = undefined;
      throw new NotSupportedError('the PKCS#11 provider needs the pkcs11js package (npm install pkcs11js)', { cause });
    },
  );
  return apiPromise;
}

export interface Library {
  path: string;
  api: Pkcs11Api;
  p11: PKCS11;
  users: number;
  /** True when our C_Initialize succeeded, so C_Finalize is ours to call. */
  ownsInit: boolean;
}

const libraries = new Map<string, Library>();
const tokens = new Map<string, Token>();

function retainLibrary(path: string, api: Pkcs11Api): Library {
  let lib = libraries.get(path);
  if (lib === undefined) {
    const p11 = new api.PKCS11();
    try {
      p11.load(path);
    } catch (cause) {
      throw new ProviderError(`could not load the PKCS#11 library '${path}'`, { cause, kind: 'rejected' });
    }
    lib = { path, api, p11, users: 0, ownsInit: false };
    libraries.set(path, lib);
  }
  if (lib.users === 0) {
    try {
      lib.p11.C_Initialize({ flags: api.CKF_OS_LOCKING_OK });
      lib.ownsInit = true;
    } catch (err) {
      if (ckrOf(err) !== 'CKR_CRYPTOKI_ALREADY_INITIALIZED') throw cryptokiFailure(`C_Initialize of '${path}'`, err);
      lib.ownsInit = false;
    }
  }
  lib.users++;
  return lib;
}

function releaseLibrary(lib: Library): void {
  if (--lib.users > 0 || !lib.ownsInit) return;
  lib.ownsInit = false;
  try {
    lib.p11.C_Finalize();
  } catch {
    /* the library is going away either way */
  }
}

function pinDigest(pin: string): Buffer {
  return createHash('sha256').update('vecseal/pkcs11-pin/v1\0').update(pin, 'utf8').digest();
}

async function readPin(source: PinSource): Promise<string> {
  let pin: unknown;
  try {
    pin = typeof source === 'function' ? await source() : source;
  } catch (cause) {
    throw new ProviderError('the PIN supplier failed', { cause, kind: 'rejected' });
  }
  if (typeof pin !== 'string' || pin === '') throw new ProviderError('the PIN supplier returned no PIN (a non-empty string is needed)', { kind: 'rejected' });
  return pin;
}

function trimLabel(label: string): string {
  // CK_TOKEN_INFO.label is 32 bytes padded with blanks (section 3.2).
  return label.replace(/[ \0]+$/, '');
}

export interface OpenTokenOptions {
  libraryPath: string;
  tokenLabel: string;
  pin: PinSource;
  maxSessions: number;
}

/**
 * A logged-in token shared by every provider on it. Reference-counted: the last release logs out,
 * closes the sessions and releases the library.
 */
export class Token {
  readonly lib: Library;
  readonly slot: Handle;
  readonly label: string;
  readonly #pin: PinSource;
  readonly #pinDigest: Buffer;
  readonly #maxSessions: number;
  #users = 0;
  #closed = false;
  #anchor: Handle | undefined;
  readonly #idle: Handle[] = [];
  #open = 0;
  readonly #waiters: (() => void)[] = [];
  #exclusive: Promise<unknown> = Promise.resolve();

  private constructor(lib: Library, slot: Handle, label: string, pin: PinSource, digest: Buffer, maxSessions: number) {
    this.lib = lib;
    this.slot = slot;
    this.label = label;
    this.#pin = pin;
    this.#pinDigest = digest;
    this.#maxSessions = maxSessions;
  }

  get api(): Pkcs11Api {
    return this.lib.api;
  }

  get p11(): PKCS11 {
    return this.lib.p11;
  }

  /**
   * Opens (or joins) the token labelled `tokenLabel` and logs in as CKU_USER.
   * @throws ProviderError kind 'rejected' for an unknown library, token or a refused PIN
   */
  static async open(options: OpenTokenOptions): Promise<Token> {
    const api = await loadApi();
    const key = `${options.libraryPath}\n${options.tokenLabel}`;
    const pin = await readPin(options.pin);
    const existing = tokens.get(key);
    if (existing !== undefined) {
      // Already logged in: C_Login would answer CKR_USER_ALREADY_LOGGED_IN to any PIN, so compare it here.
      const digest = pinDigest(pin);
      if (!timingSafeEqual(digest, existing.#pinDigest)) {
        throw new ProviderError(`login to token '${options.tokenLabel}' refused: the PIN differs from the one this process logged in with`, { kind: 'rejected' });
      }
      existing.#users++;
      return existing;
    }
    const lib = retainLibrary(options.libraryPath, api);
    let token: Token | undefined;
    try {
      const slot = findSlot(lib, options.tokenLabel);
      token = new Token(lib, slot, options.tokenLabel, options.pin, pinDigest(pin), options.maxSessions);
      token.#anchor = token.#openSession();
      await token.#login(token.#anchor, pin);
    } catch (err) {
      if (token !== undefined && token.#anchor !== undefined) token.#closeQuietly(token.#anchor);
      releaseLibrary(lib);
      throw err;
    }
    // Another open may have raced us through the awaits above; join it instead.
    const raced = tokens.get(key);
    if (raced !== undefined) {
      token.#closeQuietly(token.#anchor!);
      releaseLibrary(lib);
      raced.#users++;
      return raced;
    }
    token.#users = 1;
    tokens.set(key, token);
    return token;
  }

  /**
   * Runs `fn` after every earlier exclusive call on this token has settled: key generation reads
   * the versions present and creates the next one, which must not interleave within this process.
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#exclusive.then(fn);
    this.#exclusive = result.catch(() => undefined);
    return result;
  }

  /** One more user of an open token (a provider built from another with withOptions). */
  retain(): void {
    if (this.#closed) throw new ClosedError(`the PKCS#11 token '${this.label}' was closed`);
    this.#users++;
  }

  /** Drops one user; the last one logs out, closes every session and releases the library. */
  release(): void {
    if (this.#closed || --this.#users > 0) return;
    this.#closed = true;
    tokens.delete(`${this.lib.path}\n${this.label}`);
    if (this.#anchor !== undefined) {
      try {
        this.p11.C_Logout(this.#anchor);
      } catch {
        /* already logged out (sessions lost) */
      }
    }
    for (const s of this.#idle.splice(0)) this.#closeQuietly(s);
    if (this.#anchor !== undefined) this.#closeQuietly(this.#anchor);
    this.#anchor = undefined;
    for (const wake of this.#waiters.splice(0)) wake();
    releaseLibrary(this.lib);
  }

  /**
   * Runs `fn` on a session of its own. If the session (or device) was lost, the pool is rebuilt,
   * logged in again, and `fn` runs once more on a fresh session; a second loss is thrown as is.
   */
  async withSession<T>(signal: AbortSignal | undefined, fn: (session: Handle) => Promise<T>): Promise<T> {
    for (let round = 0; ; round++) {
      const session = await this.#acquire(signal);
      let result: T;
      try {
        result = await fn(session);
      } catch (err) {
        // A Cryptoki failure can leave an operation active on its session (e.g. after C_EncryptInit): such a
        // session is not reused. Errors this package raised itself (a refused ciphertext: C_Decrypt and
        // C_UnwrapKey end their operation either way; an unknown key) leave the session clean.
        if (err instanceof VecsealError && !isSessionLost(err.cause)) this.#releaseSession(session);
        else this.#discard(session);
        if (round === 0 && isSessionLost(err) && !this.#closed) {
          await this.#recover();
          continue;
        }
        throw err;
      }
      this.#releaseSession(session);
      return result;
    }
  }

  #openSession(): Handle {
    try {
      return this.p11.C_OpenSession(this.slot, this.api.CKF_SERIAL_SESSION | this.api.CKF_RW_SESSION);
    } catch (err) {
      throw cryptokiFailure(`C_OpenSession on token '${this.label}'`, err);
    }
  }

  async #login(session: Handle, pin?: string): Promise<void> {
    try {
      this.p11.C_Login(session, this.api.CKU_USER, pin ?? (await readPin(this.#pin)));
    } catch (err) {
      if (ckrOf(err) === 'CKR_USER_ALREADY_LOGGED_IN') return;
      throw cryptokiFailure(`login to token '${this.label}'`, err);
    }
  }

  /** After a lost session: forget idle sessions, make sure the anchor is alive and logged in. */
  async #recover(): Promise<void> {
    for (const s of this.#idle.splice(0)) this.#discard(s);
    let alive = false;
    if (this.#anchor !== undefined) {
      try {
        this.p11.C_GetSessionInfo(this.#anchor);
        alive = true;
      } catch {
        this.#anchor = undefined;
      }
    }
    if (!alive) this.#anchor = this.#openSession();
    await this.#login(this.#anchor!);
  }

  async #acquire(signal: AbortSignal | undefined): Promise<Handle> {
    for (;;) {
      if (this.#closed) throw new ClosedError(`the PKCS#11 token '${this.label}' was closed`);
      signal?.throwIfAborted();
      const idle = this.#idle.pop();
      if (idle !== undefined) return idle;
      if (this.#open < this.#maxSessions) {
        this.#open++;
        try {
          return this.#openSession();
        } catch (err) {
          this.#open--;
          this.#wakeOne();
          throw err;
        }
      }
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => {
          const at = this.#waiters.indexOf(wake);
          if (at >= 0) this.#waiters.splice(at, 1);
          reject(signal!.reason);
        };
        const wake = (): void => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        this.#waiters.push(wake);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    }
  }

  #releaseSession(session: Handle): void {
    if (this.#closed) {
      this.#closeQuietly(session);
      this.#open--;
    } else this.#idle.push(session);
    this.#wakeOne();
  }

  #discard(session: Handle): void {
    this.#closeQuietly(session);
    this.#open--;
    this.#wakeOne();
  }

  #wakeOne(): void {
    this.#waiters.shift()?.();
  }

  #closeQuietly(session: Handle): void {
    try {
      this.p11.C_CloseSession(session);
    } catch {
      /* already gone */
    }
  }
}

function findSlot(lib: Library, tokenLabel: string): Handle {
  let slots: Handle[];
  try {
    slots = lib.p11.C_GetSlotList(true);
  } catch (err) {
    throw cryptokiFailure(`C_GetSlotList of '${lib.path}'`, err);
  }
  const seen: string[] = [];
  for (const slot of slots) {
    let label: string;
    try {
      label = trimLabel(lib.p11.C_GetTokenInfo(slot).label);
    } catch {
      continue; // a token removed meanwhile
    }
    if (label === tokenLabel) return slot;
    if (label !== '') seen.push(`'${label}'`);
  }
  throw new ProviderError(`no token labelled '${tokenLabel}' in the PKCS#11 library '${lib.path}' (tokens present: ${seen.join(', ') || 'none initialised'})`, { kind: 'rejected' });
}
