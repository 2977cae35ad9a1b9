/**
 * KEKs kept in a PKCS#11 token: a hardware security module, or SoftHSM2 (OASIS "PKCS #11
 * Cryptographic Token Interface Base Specification v2.40" and "Current Mechanisms v2.40"). Node
 * only, through pkcs11js. The KEK is an AES-256 secret key generated inside the token with
 * CKA_SENSITIVE true and CKA_EXTRACTABLE false: its bytes never exist outside the token.
 *
 * Mechanisms (the `mechanism` option; what a wrapped key records as its `algorithm`):
 * - 'AES_KEY_WRAP_PAD' -> 'A256KWP': CKM_AES_KEY_WRAP_PAD, AES key wrap with padding (RFC 5649).
 *   It takes no associated data, so the wrap context is bound by a tag (_binding.ts); wrapped bytes
 *   are kwp (40) || binding tag (32). The DEK is imported as a short-lived session object
 *   (CKA_TOKEN false) and wrapped with C_WrapKey, and unwrapped with C_UnwrapKey into a session
 *   object whose CKA_VALUE is read and which is then destroyed: tokens such as SoftHSM2 2.6 offer
 *   this mechanism for C_WrapKey/C_UnwrapKey only (C_EncryptInit answers CKR_MECHANISM_INVALID).
 *   The wrap must be 40 bytes, or the provider refuses it (ProviderError 'protocol'): PKCS#11 v3.1
 *   deprecates 0x210A CKM_AES_KEY_WRAP_PAD for its ambiguity (RFC 5649 in SoftHSM2 and most HSMs,
 *   PKCS#7 padding + RFC 3394 in others, which would give 48 bytes) and names RFC 5649
 *   CKM_AES_KEY_WRAP_KWP (0x210B), which SoftHSM2 2.6 does not list.
 *   Rewrapping from an older KEK version happens inside the token (C_UnwrapKey into a sensitive
 *   session object, C_WrapKey under the new version): the DEK does not enter this process, and the
 *   binding tag, which depends only on the DEK and the context, is carried over and checked at
 *   every later unwrap.
 * - 'AES_GCM' -> 'A256GCM': CKM_AES_GCM (SP 800-38D) through C_Encrypt/C_Decrypt, a random 96-bit
 *   IV, a 128-bit tag, and encodeWrapContext(context) as the AAD; wrapped bytes iv || ct || tag (60).
 *   Random IVs keep SP 800-38D's bound only below 2^32 wraps per KEK version: rotate well before.
 *
 * Key versions: version 1 of a KEK is the secret key whose CKA_LABEL is `keyLabel`; version n >= 2
 * is labelled `keyLabel#n`. generateKek creates the next version, and new wraps use the newest;
 * every version stays usable for unwrap until it is destroyed in the token.
 *
 * States as describe() reports them: 'enabled' while the newest version may wrap and unwrap
 * (CKA_WRAP and CKA_UNWRAP for A256KWP, CKA_ENCRYPT and CKA_DECRYPT for A256GCM), 'disabled' when an
 * administrator set one of them false (C_SetAttributeValue; the token then answers
 * CKR_KEY_FUNCTION_NOT_PERMITTED, reported as KeyStateError 'disabled'), 'destroyed' when no
 * version is left (C_DestroyObject; unwrapping with a destroyed version is KeyStateError 'destroyed').
 *
 * The crypto calls (C_WrapKey, C_UnwrapKey, C_Encrypt, C_Decrypt, C_GenerateKey) use pkcs11js's
 * *Async variants, which run on libuv's thread pool and do not block the event loop. The short
 * calls around them (C_EncryptInit/C_DecryptInit, C_CreateObject, C_GetAttributeValue,
 * C_DestroyObject, C_FindObjects, C_OpenSession, C_Login) are synchronous.
 *
 * Every JS buffer that held a DEK is zeroed after use. Messages name the token, key label and CKR_*
 * code; never a PIN or key byte.
 */
import type { GcmParams, Template } from 'pkcs11js';
import { AuthenticationError, ClosedError, InvalidInputError, KeyStateError, ProviderError, VecsealError, type KekState } from '../errors.js';
import { appendTag, bindingTag, checkBinding, splitTag } from './_binding.js';
import { encodeWrapContext } from './_envelope.js';
import { ckrOf, cryptokiFailure, Token, type Handle, type PinSource } from './_pkcs11-token.js';
import { BaseKeyProvider, DEK_BYTES, type Attempt, type KekDescription, type ProviderOptions, type RawDestruction, type RawWrapped, type WrapContext, type WrappedKey } from './provider.js';

export type { PinSource } from './_pkcs11-token.js';

/** How the token wraps DEKs. */
export type Pkcs11Mechanism = 'AES_KEY_WRAP_PAD' | 'AES_GCM';

/** Bytes of an RFC 5649 wrap of a 32-byte key: the 8-byte integrity block plus the key. */
const KWP_BYTES = DEK_BYTES + 8;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const GCM_WRAPPED_BYTES = IV_BYTES + DEK_BYTES + TAG_BYTES;
const KEK_BYTES = 32;
const DEFAULT_MAX_SESSIONS = 4;
const MAX_SESSIONS = 64;
const MAX_VERSION = 999_999_999;
/** Room to spare in output buffers; the token says how much it used. */
const OUT_BYTES = 64;

const ALGORITHMS: Record<Pkcs11Mechanism, string> = { AES_KEY_WRAP_PAD: 'A256KWP', AES_GCM: 'A256GCM' };

/**
 * CKR_* codes with which a decrypt or unwrap call refuses the bytes it was given. SoftHSM2 reports
 * a failed RFC 5649 integrity check or GCM tag as CKR_GENERAL_ERROR, so that code counts too, but
 * only from the C_UnwrapKey/C_Decrypt call itself (a failing *Init is not about the bytes).
 */
const REFUSED = new Set([
  'CKR_ENCRYPTED_DATA_INVALID',
  'CKR_ENCRYPTED_DATA_LEN_RANGE',
  'CKR_WRAPPED_KEY_INVALID',
  'CKR_WRAPPED_KEY_LEN_RANGE',
  'CKR_DATA_INVALID',
  'CKR_DATA_LEN_RANGE',
  'CKR_AEAD_DECRYPT_FAILED',
  'CKR_GENERAL_ERROR',
]);

const HANDLE_INVALID = new Set(['CKR_KEY_HANDLE_INVALID', 'CKR_OBJECT_HANDLE_INVALID', 'CKR_WRAPPING_KEY_HANDLE_INVALID', 'CKR_UNWRAPPING_KEY_HANDLE_INVALID']);

export interface Pkcs11ProviderOptions extends ProviderOptions {
  /** Path of the token's PKCS#11 module, e.g. '/usr/lib/softhsm/libsofthsm2.so'. */
  libraryPath: string;
  /** The token's label (CK_TOKEN_INFO.label, without the blank padding): selects the slot. */
  tokenLabel: string;
  /** The user (CKU_USER) PIN, or a function returning it; called when a login is needed. */
  pin: PinSource;
  /** CKA_LABEL of the KEK (version 1); later versions are labelled `keyLabel#n`. No '#'. */
  keyLabel: string;
  /** Default 'AES_KEY_WRAP_PAD'. */
  mechanism?: Pkcs11Mechanism;
  /**
   * Sessions used for crypto at once, besides the one holding the login (default 4, the size of
   * libuv's thread pool). Set by the first provider to open the token in this process.
   */
  maxSessions?: number;
}

/** What providers built from one another share: the KEK's versions and their object handles. */
interface KekVersions {
  keyLabel: string;
  /** The version new wraps use. */
  current: number;
  handles: Map<number, Handle>;
}

type Op = 'open' | 'wrap' | 'unwrap' | 'rewrap' | 'describe' | 'generateKek' | 'destroyKek';

interface CheckedOptions {
  libraryPath: string;
  tokenLabel: string;
  pin: PinSource;
  keyLabel: string;
  mechanism: Pkcs11Mechanism;
  maxSessions: number;
}

function checkOptions(options: Pkcs11ProviderOptions): CheckedOptions {
  if (options === null || typeof options !== 'object') throw new InvalidInputError('Pkcs11Provider needs options { libraryPath, tokenLabel, pin, keyLabel }');
  const { libraryPath, tokenLabel, pin, keyLabel } = options;
  if (typeof libraryPath !== 'string' || libraryPath === '') throw new InvalidInputError('libraryPath must be the path of a PKCS#11 module');
  if (typeof tokenLabel !== 'string' || tokenLabel === '' || new TextEncoder().encode(tokenLabel).length > 32) {
    throw new InvalidInputError('tokenLabel must be a non-empty string of at most 32 bytes');
  }
  if (typeof pin !== 'function' && (typeof pin !== 'string' || pin === '')) throw new InvalidInputError('pin must be a non-empty string or a function returning one');
  if (typeof keyLabel !== 'string' || keyLabel === '' || keyLabel.includes('#')) {
    throw new InvalidInputError("keyLabel must be a non-empty string without '#' (versions are labelled keyLabel#n)");
  }
  const mechanism = options.mechanism ?? 'AES_KEY_WRAP_PAD';
  if (mechanism !== 'AES_KEY_WRAP_PAD' && mechanism !== 'AES_GCM') throw new InvalidInputError(`mechanism must be 'AES_KEY_WRAP_PAD' or 'AES_GCM'; got ${String(mechanism)}`);
  const maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
  if (!Number.isInteger(maxSessions) || maxSessions < 1 || maxSessions > MAX_SESSIONS) throw new InvalidInputError(`maxSessions must be an integer from 1 to ${MAX_SESSIONS}`);
  return { libraryPath, tokenLabel, pin, keyLabel, mechanism, maxSessions };
}

/** CKA_LABEL of a version. */
function labelOf(keyLabel: string, version: number): string {
  return version === 1 ? keyLabel : `${keyLabel}#${version}`;
}

/** The version a CKA_LABEL names for `keyLabel`, or undefined when it belongs to another key. */
function versionOf(label: string, keyLabel: string): number | undefined {
  if (label === keyLabel) return 1;
  if (!label.startsWith(`${keyLabel}#`)) return undefined;
  const rest = label.slice(keyLabel.length + 1);
  if (!/^[1-9][0-9]{0,8}$/.test(rest)) return undefined;
  const version = Number(rest);
  return version >= 2 ? version : undefined;
}

function parseVersion(kekVersion: string | undefined): number {
  if (kekVersion === undefined || !/^[1-9][0-9]{0,8}$/.test(kekVersion)) {
    throw new InvalidInputError('a pkcs11 wrapped key names its KEK version (kekVersion, an integer >= 1)');
  }
  return Number(kekVersion);
}

function boolAttr(value: Buffer | undefined): boolean {
  return value !== undefined && value.length > 0 && value[0] !== 0;
}

function ulongAttr(value: Buffer | undefined): number {
  if (value === undefined || value.length === 0) return -1;
  return value.length >= 8 ? Number(value.readBigUInt64LE(0)) : value.readUInt32LE(0);
}

/** Runs the call that consumes wrapped bytes, turning the token's refusal of those bytes into AuthenticationError. */
async function refusing<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    const code = ckrOf(err);
    // No reason: the base class knows the checksum and context matched, so it reports 'wrong-key'.
    if (code !== undefined && REFUSED.has(code)) throw new AuthenticationError(`the KEK refused the wrapped DEK (${code})`, { cause: err });
    throw err;
  }
}

/**
 * A KeyProvider whose KEK lives in a PKCS#11 token.
 * @example
 * const kek = await Pkcs11Provider.generateKek({ libraryPath: '/usr/lib/softhsm/libsofthsm2.so', tokenLabel: 'vecseal', pin: () => process.env.HSM_PIN!, keyLabel: 'tenant-a' });
 * const wrapped = await kek.wrap(dek, { dekId: 'd1', keyVersion: 1, collection: 'docs', tenant: 'a' });
 * await kek.close();
 */
export class Pkcs11Provider extends BaseKeyProvider {
  readonly id = 'pkcs11';
  /** `${tokenLabel}/${keyLabel}`: the same for every version. */
  readonly kekId: string;
  readonly mechanism: Pkcs11Mechanism;
  readonly #token: Token;
  readonly #kek: KekVersions;
  #closed = false;
  readonly #inFlight = new Set<Promise<unknown>>();

  private constructor(token: Token, kek: KekVersions, mechanism: Pkcs11Mechanism, options: ProviderOptions) {
    super(options);
    this.#token = token;
    this.#kek = kek;
    this.mechanism = mechanism;
    this.kekId = `${token.label}/${kek.keyLabel}`;
  }

  /**
   * Opens the token (logging in as CKU_USER, or joining this process's open login) and finds the
   * newest version of the KEK labelled `keyLabel`.
   * @throws InvalidInputError for bad options; NotSupportedError without pkcs11js; ProviderError
   *   kind 'rejected' for an unloadable library, an unknown token, a refused PIN, or no such key
   */
  static async open(options: Pkcs11ProviderOptions): Promise<Pkcs11Provider> {
    return Pkcs11Provider.#start(checkOptions(options), options, false);
  }

  /**
   * Creates the next version of the KEK labelled `keyLabel` in the token (version 1 when there is
   * none): AES-256, CKA_TOKEN, CKA_SENSITIVE, not extractable, for wrap/unwrap/encrypt/decrypt only;
   * and returns a provider whose new wraps use it.
   * @throws as open(), and ProviderError when the token refuses to create the key
   */
  static async generateKek(options: Pkcs11ProviderOptions): Promise<Pkcs11Provider> {
    return Pkcs11Provider.#start(checkOptions(options), options, true);
  }

  static async #start(o: CheckedOptions, options: ProviderOptions, create: boolean): Promise<Pkcs11Provider> {
    const token = await Token.open({ libraryPath: o.libraryPath, tokenLabel: o.tokenLabel, pin: o.pin, maxSessions: o.maxSessions });
    const kek: KekVersions = { keyLabel: o.keyLabel, current: 0, handles: new Map() };
    let provider: Pkcs11Provider;
    try {
      provider = new Pkcs11Provider(token, kek, o.mechanism, options); // checks timeoutMs and retry
    } catch (err) {
      token.release();
      throw err;
    }
    try {
      if (create) await provider.generateKek();
      else {
        await provider.#run('open', undefined, async (session) => {
          const versions = provider.#listVersions(session);
          if (versions.size === 0) {
            throw new ProviderError(`no secret key labelled '${o.keyLabel}' on token '${o.tokenLabel}' (create one with Pkcs11Provider.generateKek)`, { kind: 'rejected' });
          }
          kek.handles = versions;
          kek.current = Math.max(...versions.keys());
          provider.#checkKekType(session, versions.get(kek.current)!);
        });
      }
      return provider;
    } catch (err) {
      await provider.close();
      throw err;
    }
  }

  /** The KEK version new wraps use. */
  get kekVersion(): string {
    return String(this.#kek.current);
  }

  /**
   * Creates the next version of this provider's KEK in the token; new wraps use it from now on.
   * @returns the new version
   */
  async generateKek(): Promise<string> {
    const kek = this.#kek;
    return this.#token.exclusive(() =>
      this.#run('generateKek', undefined, async (session) => {
        const { api, p11 } = this.#token;
        // The token is the authority on versions: another process may have rotated meanwhile.
        const known = this.#listVersions(session);
        const version = Math.max(kek.current, 0, ...known.keys()) + 1;
        if (version > MAX_VERSION) throw new ProviderError(`KEK '${this.kekId}' has run out of versions`, { kind: 'rejected' });
        const template: Template = [
          { type: api.CKA_CLASS, value: api.CKO_SECRET_KEY },
          { type: api.CKA_KEY_TYPE, value: api.CKK_AES },
          { type: api.CKA_VALUE_LEN, value: KEK_BYTES },
          { type: api.CKA_LABEL, value: labelOf(kek.keyLabel, version) },
          { type: api.CKA_TOKEN, value: true },
          { type: api.CKA_PRIVATE, value: true },
          { type: api.CKA_SENSITIVE, value: true },
          { type: api.CKA_EXTRACTABLE, value: false },
          { type: api.CKA_MODIFIABLE, value: true },
          { type: api.CKA_WRAP, value: true },
          { type: api.CKA_UNWRAP, value: true },
          { type: api.CKA_ENCRYPT, value: true },
          { type: api.CKA_DECRYPT, value: true },
          { type: api.CKA_SIGN, value: false },
          { type: api.CKA_VERIFY, value: false },
          { type: api.CKA_DERIVE, value: false },
        ];
        const handle = await p11.C_GenerateKeyAsync(session, { mechanism: api.CKM_AES_KEY_GEN }, template);
        for (const [v, h] of known) kek.handles.set(v, h);
        kek.handles.set(version, handle);
        kek.current = version;
        return String(version);
      }),
    );
  }

  /**
   * The same KEK (and token login) with other timeouts or retries. Close it like any provider; the
   * token stays open until its last provider closes.
   */
  withOptions(options: ProviderOptions): Pkcs11Provider {
    if (this.#closed) throw new ClosedError(`the pkcs11 provider for '${this.kekId}' is closed`);
    const provider = new Pkcs11Provider(this.#token, this.#kek, this.mechanism, options);
    this.#token.retain();
    return provider;
  }

  /**
   * Waits for calls in flight, then releases the token: the last provider on it logs out, closes
   * its sessions and (if this package initialised the library) calls C_Finalize. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...this.#inFlight]);
    this.#token.release();
  }

  protected async wrapKey(dek: Uint8Array, context: WrapContext, attempt: Attempt): Promise<RawWrapped> {
    const algorithm = ALGORITHMS[this.mechanism];
    const version = this.#kek.current;
    const raw = { algorithm, kekVersion: String(version) };
    if (this.mechanism === 'AES_GCM') {
      const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
      const sealed = await this.#run('wrap', attempt, (session, key) => this.#gcmEncrypt(session, key(version), dek, iv, encodeWrapContext(context)));
      const bytes = new Uint8Array(IV_BYTES + sealed.length);
      bytes.set(iv, 0);
      bytes.set(sealed, IV_BYTES);
      return { ...raw, bytes };
    }
    const kwp = await this.#run('wrap', attempt, (session, key) => this.#kwpWrap(session, key(version), dek));
    return { ...raw, bytes: appendTag(kwp, await bindingTag(dek, context)) };
  }

  protected async unwrapKey(wrapped: WrappedKey, context: WrapContext, attempt: Attempt): Promise<Uint8Array> {
    const version = parseVersion(wrapped.kekVersion);
    if (wrapped.algorithm === ALGORITHMS.AES_GCM) {
      if (wrapped.bytes.length !== GCM_WRAPPED_BYTES) throw new AuthenticationError(`A256GCM wrapped keys are ${GCM_WRAPPED_BYTES} bytes; got ${wrapped.bytes.length}`, { reason: 'tampered' });
      const iv = wrapped.bytes.subarray(0, IV_BYTES);
      const sealed = wrapped.bytes.subarray(IV_BYTES);
      return this.#run('unwrap', attempt, (session, key) => this.#gcmDecrypt(session, key(version), sealed, iv, encodeWrapContext(context)));
    }
    if (wrapped.algorithm === ALGORITHMS.AES_KEY_WRAP_PAD) {
      const parts = this.#splitKwp(wrapped);
      const dek = await this.#run('unwrap', attempt, (session, key) => this.#kwpUnwrap(session, key(version), parts.blob));
      return checkBinding(dek, context, parts.tag);
    }
    throw new InvalidInputError(`pkcs11 cannot unwrap algorithm '${wrapped.algorithm}' (it writes A256KWP and A256GCM)`);
  }

  /** A256KWP to A256KWP inside the token, so the DEK never enters this process; anything else through unwrap + wrap. */
  protected override async rewrapKey(wrapped: WrappedKey, context: WrapContext, attempt: Attempt): Promise<RawWrapped> {
    if (wrapped.algorithm !== ALGORITHMS.AES_KEY_WRAP_PAD || this.mechanism !== 'AES_KEY_WRAP_PAD') return super.rewrapKey(wrapped, context, attempt);
    const from = parseVersion(wrapped.kekVersion);
    const to = this.#kek.current;
    const parts = this.#splitKwp(wrapped);
    const kwp = await this.#run('rewrap', attempt, async (session, key) => {
      const { api, p11 } = this.#token;
      const oldKek = key(from);
      const newKek = key(to);
      const object = await refusing(() =>
        p11.C_UnwrapKeyAsync(session, { mechanism: api.CKM_AES_KEY_WRAP_PAD }, oldKek, Buffer.from(parts.blob), this.#dekTemplate({ readable: false })),
      );
      try {
        return this.#checkedOut(await p11.C_WrapKeyAsync(session, { mechanism: api.CKM_AES_KEY_WRAP_PAD }, newKek, object, Buffer.alloc(OUT_BYTES)), KWP_BYTES);
      } finally {
        this.#destroyQuietly(session, object);
      }
    });
    return { bytes: appendTag(kwp, parts.tag), algorithm: ALGORITHMS.AES_KEY_WRAP_PAD, kekVersion: String(to) };
  }

  /**
   * C_DestroyObject on every version of this KEK in the token (the labels `keyLabel` and
   * `keyLabel#n`): the key material is gone, so every DEK it wrapped is shredded. Versions are
   * listed from the token, not from this process's cache, so versions another process made are
   * destroyed too. Idempotent: with no version left it reports 'destroyed' again. Afterwards wrap
   * and unwrap fail with KeyStateError 'destroyed'; generateKek may start a new version.
   */
  protected override async destroyKekKey(attempt: Attempt): Promise<RawDestruction> {
    const kek = this.#kek;
    return this.#token.exclusive(() =>
      this.#run('destroyKek', attempt, async (session) => {
        const versions = this.#listVersions(session);
        // Drop the cached handles first: if a destroy below fails, no operation uses a stale one.
        kek.handles.clear();
        const numbers = [...versions.keys()].sort((a, b) => a - b);
        for (const v of numbers) this.#token.p11.C_DestroyObject(session, versions.get(v)!);
        return { state: 'destroyed', versions: numbers.map(String) };
      }),
    );
  }

  protected async describeKey(attempt: Attempt): Promise<KekDescription> {
    return this.#run('describe', attempt, async (session) => {
      const { api, p11 } = this.#token;
      const versions = this.#listVersions(session);
      const algorithm = ALGORITHMS[this.mechanism];
      const details: Record<string, string | number | boolean> = { tokenLabel: this.#token.label, keyLabel: this.#kek.keyLabel, versions: versions.size, mechanism: `CKM_${this.mechanism}` };
      // Another process may have made a newer version: new wraps follow the token.
      const newest = Math.max(0, ...versions.keys());
      if (newest > this.#kek.current) this.#kek.current = newest;
      this.#kek.handles = versions;
      const current = versions.get(this.#kek.current);
      // New wraps use the current version only, so without it the KEK is destroyed for them.
      if (current === undefined) return { provider: this.id, kekId: this.kekId, kekVersion: String(this.#kek.current), state: 'destroyed', algorithm, canUnwrap: versions.size > 0, details };
      const attrs = p11.C_GetAttributeValue(session, current, [
        { type: api.CKA_WRAP },
        { type: api.CKA_UNWRAP },
        { type: api.CKA_ENCRYPT },
        { type: api.CKA_DECRYPT },
        { type: api.CKA_SENSITIVE },
        { type: api.CKA_EXTRACTABLE },
      ]);
      const [wrap, unwrap, encrypt, decrypt, sensitive, extractable] = attrs.map((a) => boolAttr(a.value));
      const usable = this.mechanism === 'AES_KEY_WRAP_PAD' ? wrap && unwrap : encrypt && decrypt;
      const state: KekState = usable ? 'enabled' : 'disabled';
      return { provider: this.id, kekId: this.kekId, kekVersion: String(this.#kek.current), state, algorithm, canUnwrap: true, details: { ...details, sensitive: sensitive!, extractable: extractable! } };
    });
  }

  #splitKwp(wrapped: WrappedKey): { blob: Uint8Array; tag: Uint8Array } {
    const parts = splitTag(wrapped.bytes);
    if (parts === undefined || parts.blob.length !== KWP_BYTES) {
      throw new AuthenticationError(`A256KWP wrapped keys are ${KWP_BYTES} bytes plus a binding tag; got ${wrapped.bytes.length}`, { reason: 'tampered' });
    }
    return parts;
  }

  /** A session object for a DEK: readable (to hand an unwrapped DEK back) or only wrappable. */
  #dekTemplate(options: { readable: boolean; value?: Buffer }): Template {
    const { api } = this.#token;
    const template: Template = [
      { type: api.CKA_CLASS, value: api.CKO_SECRET_KEY },
      { type: api.CKA_KEY_TYPE, value: api.CKK_GENERIC_SECRET },
      { type: api.CKA_TOKEN, value: false },
      { type: api.CKA_PRIVATE, value: true },
      { type: api.CKA_SENSITIVE, value: !options.readable },
      { type: api.CKA_EXTRACTABLE, value: true },
    ];
    if (options.value !== undefined) template.push({ type: api.CKA_VALUE, value: options.value });
    return template;
  }

  async #kwpWrap(session: Handle, kek: Handle, dek: Uint8Array): Promise<Uint8Array> {
    const { api, p11 } = this.#token;
    const value = Buffer.alloc(DEK_BYTES); // alloc, not from(): never a slice of Node's shared pool
    value.set(dek);
    let object: Handle;
    try {
      object = p11.C_CreateObject(session, this.#dekTemplate({ readable: false, value }));
    } finally {
      value.fill(0);
    }
    try {
      return this.#checkedOut(await p11.C_WrapKeyAsync(session, { mechanism: api.CKM_AES_KEY_WRAP_PAD }, kek, object, Buffer.alloc(OUT_BYTES)), KWP_BYTES);
    } finally {
      this.#destroyQuietly(session, object);
    }
  }

  async #kwpUnwrap(session: Handle, kek: Handle, blob: Uint8Array): Promise<Uint8Array> {
    const { api, p11 } = this.#token;
    const object = await refusing(() => p11.C_UnwrapKeyAsync(session, { mechanism: api.CKM_AES_KEY_WRAP_PAD }, kek, Buffer.from(blob), this.#dekTemplate({ readable: true })));
    try {
      const [attr] = p11.C_GetAttributeValue(session, object, [{ type: api.CKA_VALUE }]);
      const value = attr?.value;
      if (!(value instanceof Uint8Array)) throw new ProviderError('the token returned no value for the unwrapped DEK', { kind: 'protocol' });
      const dek = new Uint8Array(value);
      value.fill(0);
      return dek;
    } finally {
      this.#destroyQuietly(session, object);
    }
  }

  #gcmMechanism(iv: Uint8Array, aad: Uint8Array): { mechanism: number; parameter: GcmParams } {
    const { api } = this.#token;
    // CK_GCM_PARAMS as v2.40 defines it (with ulIvBits), which is what SoftHSM2 and current HSMs expect.
    const parameter: GcmParams = { type: api.CK_PARAMS_AES_GCM_v240, iv: Buffer.from(iv), ivBits: IV_BYTES * 8, aad: Buffer.from(aad), tagBits: TAG_BYTES * 8 };
    return { mechanism: api.CKM_AES_GCM, parameter };
  }

  async #gcmEncrypt(session: Handle, kek: Handle, dek: Uint8Array, iv: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    const { p11 } = this.#token;
    p11.C_EncryptInit(session, this.#gcmMechanism(iv, aad), kek);
    const input = Buffer.alloc(DEK_BYTES);
    input.set(dek);
    try {
      return this.#checkedOut(await p11.C_EncryptAsync(session, input, Buffer.alloc(OUT_BYTES)), DEK_BYTES + TAG_BYTES);
    } finally {
      input.fill(0);
    }
  }

  async #gcmDecrypt(session: Handle, kek: Handle, sealed: Uint8Array, iv: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    const { p11 } = this.#token;
    p11.C_DecryptInit(session, this.#gcmMechanism(iv, aad), kek);
    const out = Buffer.alloc(OUT_BYTES);
    try {
      const plain = await refusing(() => p11.C_DecryptAsync(session, Buffer.from(sealed), out));
      return new Uint8Array(plain);
    } finally {
      out.fill(0);
    }
  }

  /** Copies a token's output out of its (oversized) buffer after checking its length. */
  #checkedOut(out: Buffer, expected: number): Uint8Array {
    if (out.length !== expected) throw new ProviderError(`the token returned ${out.length} bytes, expected ${expected}`, { kind: 'protocol' });
    return Uint8Array.from(out);
  }

  #destroyQuietly(session: Handle, object: Handle): void {
    try {
      this.#token.p11.C_DestroyObject(session, object);
    } catch {
      /* a session object also dies with its session, which is closed on any failure */
    }
  }

  /** Every version of this KEK on the token, by version: labels `keyLabel` and `keyLabel#n` among the secret keys. */
  #listVersions(session: Handle): Map<number, Handle> {
    const { api, p11 } = this.#token;
    const found: Handle[] = [];
    p11.C_FindObjectsInit(session, [{ type: api.CKA_CLASS, value: api.CKO_SECRET_KEY }]);
    try {
      for (let batch = p11.C_FindObjects(session, 64); batch.length > 0; batch = p11.C_FindObjects(session, 64)) found.push(...batch);
    } finally {
      p11.C_FindObjectsFinal(session);
    }
    const versions = new Map<number, Handle>();
    for (const handle of found) {
      const label = p11.C_GetAttributeValue(session, handle, [{ type: api.CKA_LABEL }])[0]?.value?.toString('utf8') ?? '';
      const version = versionOf(label, this.#kek.keyLabel);
      if (version === undefined) continue;
      if (versions.has(version)) throw new ProviderError(`two secret keys on token '${this.#token.label}' are labelled '${label}'`, { kind: 'rejected' });
      versions.set(version, handle);
    }
    return versions;
  }

  /** The object handle of one version, found by label when not known yet. */
  #keyHandle(session: Handle, version: number): Handle {
    const known = this.#kek.handles.get(version);
    if (known !== undefined) return known;
    const { api, p11 } = this.#token;
    const label = labelOf(this.#kek.keyLabel, version);
    p11.C_FindObjectsInit(session, [
      { type: api.CKA_CLASS, value: api.CKO_SECRET_KEY },
      { type: api.CKA_LABEL, value: label },
    ]);
    let found: Handle[];
    try {
      found = p11.C_FindObjects(session, 2);
    } finally {
      p11.C_FindObjectsFinal(session);
    }
    if (found.length > 1) throw new ProviderError(`two secret keys on token '${this.#token.label}' are labelled '${label}'`, { kind: 'rejected' });
    if (found.length === 0) throw new KeyStateError(`KEK '${this.kekId}' version ${version} is not on the token (destroyed)`, { state: 'destroyed' });
    this.#kek.handles.set(version, found[0]!);
    return found[0]!;
  }

  #checkKekType(session: Handle, handle: Handle): void {
    const { api, p11 } = this.#token;
    const [type, length] = p11.C_GetAttributeValue(session, handle, [{ type: api.CKA_KEY_TYPE }, { type: api.CKA_VALUE_LEN }]);
    if (ulongAttr(type?.value) !== api.CKK_AES || ulongAttr(length?.value) !== KEK_BYTES) {
      throw new ProviderError(`the key labelled '${this.#kek.keyLabel}' on token '${this.#token.label}' is not an AES-256 secret key`, { kind: 'rejected' });
    }
  }

  /**
   * One operation on a session of its own. Object handles can go stale (a token object destroyed,
   * or private-object handles dropped after the login was lost): on CKR_*_HANDLE_INVALID the
   * versions are looked up again by label once, and a version that is gone is KeyStateError 'destroyed'.
   */
  async #run<T>(op: Op, attempt: Attempt | undefined, fn: (session: Handle, key: (version: number) => Handle) => Promise<T>): Promise<T> {
    if (this.#closed && op !== 'open') throw new ClosedError(`the pkcs11 provider for '${this.kekId}' is closed`);
    const running = this.#token.withSession(attempt?.signal, async (session) => {
      const key = (version: number): Handle => this.#keyHandle(session, version);
      try {
        return await fn(session, key);
      } catch (err) {
        if (!HANDLE_INVALID.has(ckrOf(err) ?? '')) throw err;
        this.#kek.handles.clear();
        return await fn(session, key);
      }
    });
    this.#inFlight.add(running);
    try {
      return await running;
    } catch (err) {
      throw this.#failure(op, err);
    } finally {
      this.#inFlight.delete(running);
    }
  }

  #failure(op: Op, err: unknown): unknown {
    if (err instanceof VecsealError) return err;
    const code = ckrOf(err);
    if (code === undefined) return err; // the base class reports it as a ProviderError
    if (code === 'CKR_KEY_FUNCTION_NOT_PERMITTED') {
      return new KeyStateError(`KEK '${this.kekId}' may not be used to ${op} (its CKA_WRAP/CKA_UNWRAP or CKA_ENCRYPT/CKA_DECRYPT is off): it is disabled`, { cause: err, state: 'disabled' });
    }
    if (HANDLE_INVALID.has(code)) return new KeyStateError(`KEK '${this.kekId}' is no longer on the token (destroyed)`, { cause: err, state: 'destroyed' });
    return cryptokiFailure(`pkcs11 ${op} with KEK '${this.kekId}'`, err);
  }
}
