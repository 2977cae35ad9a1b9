/**
 * KEKs held by WebCrypto (W3C Web Cryptography API), in browsers and Node:
 * - 'A256GCM': AES-256-GCM (SP 800-38D), random 96-bit IV, the wrap context as AAD;
 *   wrapped bytes iv || ciphertext || tag (60 bytes).
 * - 'A256KW': AES-256 key wrap (RFC 3394), which takes no AAD, so the context is bound by a tag
 *   (_binding.ts); wrapped bytes kw || tag (72 bytes).
 * - 'RSA-OAEP-256': RSA-OAEP with SHA-256 (RFC 8017), the wrap context as the OAEP label. A
 *   producer holding only the public key can create and wrap DEKs it cannot unwrap (encryptOnly).
 *
 * KEKs are generated non-extractable or imported once and then non-extractable (BYOK: raw bytes, or
 * a customer key wrapped to our RSA key). A non-extractable CryptoKey can be kept in IndexedDB
 * (structured clone keeps it non-extractable) and survives reloads: see persistent().
 */
import { AuthenticationError, InvalidInputError, KeyStateError, NotSupportedError } from '../errors.js';
import { appendTag, bindingTag, checkBinding, splitTag } from './_binding.js';
import { encodeWrapContext } from './_envelope.js';
import { openKekStore } from './_kek-store.js';
import { BaseKeyProvider, type KekDescription, type ProviderOptions, type RawDestruction, type RawWrapped, type WrapContext, type WrappedKey } from './provider.js';

export type WebCryptoAlgorithm = 'A256GCM' | 'A256KW' | 'RSA-OAEP-256';

const IV_BYTES = 12;
const GCM_WRAPPED_BYTES = IV_BYTES + 32 + 16;
const DEFAULT_RSA_BITS = 3072;

function subtle(): SubtleCrypto {
  const s = globalThis.crypto?.subtle;
  if (!s) throw new NotSupportedError('WebCrypto (crypto.subtle) is not available here; it needs a secure context');
  return s;
}

/** The algorithm a CryptoKey serves as a KEK, or undefined. */
function algorithmOf(key: CryptoKey): WebCryptoAlgorithm | undefined {
  const alg = key?.algorithm as (KeyAlgorithm & { length?: number; hash?: { name: string } }) | undefined;
  if (alg?.name === 'AES-GCM' && alg.length === 256) return 'A256GCM';
  if (alg?.name === 'AES-KW' && alg.length === 256) return 'A256KW';
  if (alg?.name === 'RSA-OAEP' && alg.hash?.name === 'SHA-256') return 'RSA-OAEP-256';
  return undefined;
}

function keyParams(algorithm: WebCryptoAlgorithm): { params: AesKeyGenParams | RsaHashedKeyGenParams; usages: KeyUsage[] } {
  switch (algorithm) {
    case 'A256GCM':
      return { params: { name: 'AES-GCM', length: 256 }, usages: ['encrypt', 'decrypt'] };
    case 'A256KW':
      return { params: { name: 'AES-KW', length: 256 }, usages: ['wrapKey', 'unwrapKey'] };
    case 'RSA-OAEP-256':
      return { params: { name: 'RSA-OAEP', modulusLength: DEFAULT_RSA_BITS, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, usages: ['encrypt', 'decrypt'] };
  }
}

function checkAlgorithm(algorithm: unknown): WebCryptoAlgorithm {
  if (algorithm !== 'A256GCM' && algorithm !== 'A256KW' && algorithm !== 'RSA-OAEP-256') {
    throw new InvalidInputError(`algorithm must be 'A256GCM', 'A256KW' or 'RSA-OAEP-256'; got ${String(algorithm)}`);
  }
  return algorithm;
}

function checkKekId(kekId: unknown): string {
  if (typeof kekId !== 'string' || kekId === '') throw new InvalidInputError('kekId must be a non-empty string');
  return kekId;
}

export interface WebCryptoProviderOptions extends ProviderOptions {
  /** The KEK's name, recorded in wrapped keys (default: 'kek-' + a random UUID). */
  kekId?: string;
  /** Default 'A256GCM'. */
  algorithm?: WebCryptoAlgorithm;
}

export interface PersistentOptions extends WebCryptoProviderOptions {
  kekId: string;
  /** IndexedDB database name (default 'vecseal-keks'). */
  databaseName?: string;
}

interface Keys {
  /** Wraps: the AES key, or the RSA public key. */
  wrapping: CryptoKey;
  /** Unwraps: the AES key, or the RSA private key; absent for encrypt-only producers. */
  unwrapping: CryptoKey | undefined;
}

export class WebCryptoKeyProvider extends BaseKeyProvider {
  readonly id = 'webcrypto';
  readonly kekId: string;
  readonly algorithm: WebCryptoAlgorithm;
  #keys: Keys | undefined;
  /** Set for persistent KEKs: removes the stored CryptoKey (crypto-shredding). */
  readonly #forget: (() => Promise<void>) | undefined;

  private constructor(keys: Keys, kekId: string, algorithm: WebCryptoAlgorithm, options: ProviderOptions, forget?: () => Promise<void>) {
    super(options);
    this.#keys = keys;
    this.kekId = kekId;
    this.algorithm = algorithm;
    this.#forget = forget;
  }

  /**
   * A fresh non-extractable KEK (for RSA: a key pair whose private key is non-extractable).
   * @example const provider = await WebCryptoKeyProvider.generate({ algorithm: 'A256KW' });
   */
  static async generate(options: WebCryptoProviderOptions = {}): Promise<WebCryptoKeyProvider> {
    const algorithm = checkAlgorithm(options.algorithm ?? 'A256GCM');
    const kekId = checkKekId(options.kekId ?? `kek-${crypto.randomUUID()}`);
    return new WebCryptoKeyProvider(await generateKeys(algorithm), kekId, algorithm, options);
  }

  /**
   * BYOK: imports raw AES-256 key bytes as a non-extractable KEK. The caller should wipe `raw`
   * afterwards; WebCrypto keeps its own copy.
   */
  static async importRaw(raw: Uint8Array, options: WebCryptoProviderOptions & { kekId: string }): Promise<WebCryptoKeyProvider> {
    const algorithm = checkAlgorithm(options.algorithm ?? 'A256GCM');
    if (algorithm === 'RSA-OAEP-256') throw new InvalidInputError('importRaw takes AES keys; use fromCryptoKey for an RSA key pair');
    if (!(raw instanceof Uint8Array) || raw.length !== 32) throw new InvalidInputError('a raw KEK must be 32 bytes');
    const { params, usages } = keyParams(algorithm);
    const key = await subtle().importKey('raw', new Uint8Array(raw), params, false, usages);
    return new WebCryptoKeyProvider({ wrapping: key, unwrapping: key }, checkKekId(options.kekId), algorithm, options);
  }

  /**
   * BYOK with transport protection: a customer's AES-256 KEK wrapped to our RSA-OAEP-256 public key
   * (see exportPublicKey) is unwrapped straight into a non-extractable CryptoKey, never into JS memory.
   * @param unwrapping an RSA-OAEP SHA-256 private key with the 'unwrapKey' usage
   */
  static async importWrapped(wrappedKek: Uint8Array, unwrapping: CryptoKey, options: WebCryptoProviderOptions & { kekId: string }): Promise<WebCryptoKeyProvider> {
    const algorithm = checkAlgorithm(options.algorithm ?? 'A256GCM');
    if (algorithm === 'RSA-OAEP-256') throw new InvalidInputError('importWrapped imports AES KEKs');
    if (algorithmOf(unwrapping) !== 'RSA-OAEP-256' || !unwrapping.usages.includes('unwrapKey')) {
      throw new InvalidInputError('the unwrapping key must be an RSA-OAEP SHA-256 private key with the unwrapKey usage');
    }
    const { params, usages } = keyParams(algorithm);
    let key: CryptoKey;
    try {
      key = await subtle().unwrapKey('raw', new Uint8Array(wrappedKek), unwrapping, { name: 'RSA-OAEP' }, params, false, usages);
    } catch (cause) {
      key = await unwrapThroughDecrypt(wrappedKek, unwrapping, params, usages, cause);
    }
    return new WebCryptoKeyProvider({ wrapping: key, unwrapping: key }, checkKekId(options.kekId), algorithm, options);
  }

  /** Uses an existing CryptoKey (AES-GCM or AES-KW 256) or RSA-OAEP SHA-256 key pair as the KEK. */
  static fromCryptoKey(key: CryptoKey | CryptoKeyPair, kekId: string, options: ProviderOptions = {}): WebCryptoKeyProvider {
    const pair = key as CryptoKeyPair;
    if (pair?.publicKey !== undefined && pair.privateKey !== undefined) {
      if (algorithmOf(pair.publicKey) !== 'RSA-OAEP-256' || algorithmOf(pair.privateKey) !== 'RSA-OAEP-256') {
        throw new InvalidInputError('a KEK key pair must be RSA-OAEP with SHA-256');
      }
      return new WebCryptoKeyProvider({ wrapping: pair.publicKey, unwrapping: pair.privateKey }, checkKekId(kekId), 'RSA-OAEP-256', options);
    }
    const single = key as CryptoKey;
    const algorithm = algorithmOf(single);
    if (algorithm === undefined || algorithm === 'RSA-OAEP-256') throw new InvalidInputError('the KEK must be a 256-bit AES-GCM or AES-KW CryptoKey, or an RSA-OAEP key pair');
    const { usages } = keyParams(algorithm);
    if (!usages.every((u) => single.usages.includes(u))) throw new InvalidInputError(`an ${algorithm} KEK needs the usages ${usages.join(' and ')}`);
    return new WebCryptoKeyProvider({ wrapping: single, unwrapping: single }, checkKekId(kekId), algorithm, options);
  }

  /**
   * An encrypt-only producer: holds only the RSA-OAEP-256 public key, so it can create and wrap
   * DEKs (wrap, generateDataKey) that only the private key's holder can unwrap.
   * @param publicKey a CryptoKey, a JWK, or SPKI bytes
   */
  static async encryptOnly(publicKey: CryptoKey | JsonWebKey | Uint8Array, kekId: string, options: ProviderOptions = {}): Promise<WebCryptoKeyProvider> {
    let key: CryptoKey;
    const params = { name: 'RSA-OAEP', hash: 'SHA-256' };
    if (publicKey instanceof Uint8Array) key = await subtle().importKey('spki', new Uint8Array(publicKey), params, true, ['encrypt']);
    else if (typeof CryptoKey !== 'undefined' && publicKey instanceof CryptoKey) key = publicKey;
    else key = await subtle().importKey('jwk', publicKey as JsonWebKey, params, true, ['encrypt']);
    if (algorithmOf(key) !== 'RSA-OAEP-256' || key.type !== 'public') throw new InvalidInputError('encryptOnly needs an RSA-OAEP SHA-256 public key');
    return new WebCryptoKeyProvider({ wrapping: key, unwrapping: undefined }, checkKekId(kekId), 'RSA-OAEP-256', options);
  }

  /**
   * A KEK kept in IndexedDB under `kekId`: loaded if present, otherwise generated (non-extractable)
   * and stored. The stored CryptoKey stays non-extractable across reloads. Browsers only (Node has
   * no IndexedDB).
   */
  static async persistent(options: PersistentOptions): Promise<WebCryptoKeyProvider> {
    const kekId = checkKekId(options.kekId);
    const store = await openKekStore(options.databaseName);
    try {
      const found = await store.get(kekId);
      let keys: Keys;
      let algorithm: WebCryptoAlgorithm;
      if (found) {
        keys = { wrapping: found.wrapping, unwrapping: found.unwrapping };
        algorithm = found.algorithm;
        if (options.algorithm !== undefined && options.algorithm !== algorithm) {
          throw new InvalidInputError(`the stored KEK '${kekId}' is ${algorithm}, not ${options.algorithm}`);
        }
      } else {
        algorithm = checkAlgorithm(options.algorithm ?? 'A256GCM');
        keys = await generateKeys(algorithm);
        // add(), not put(): if another tab stored a KEK under this id meanwhile, use theirs.
        const stored = await store.addIfAbsent({ kekId, algorithm, wrapping: keys.wrapping, unwrapping: keys.unwrapping });
        keys = { wrapping: stored.wrapping, unwrapping: stored.unwrapping };
      }
      const databaseName = options.databaseName;
      return new WebCryptoKeyProvider(keys, kekId, algorithm, options, async () => {
        const s = await openKekStore(databaseName);
        try {
          await s.delete(kekId);
        } finally {
          s.close();
        }
      });
    } finally {
      store.close();
    }
  }

  /** The RSA public key (JWK) that encrypt-only producers and BYOK importers use. */
  async exportPublicKey(): Promise<JsonWebKey> {
    const keys = this.#live();
    if (this.algorithm !== 'RSA-OAEP-256') throw new InvalidInputError('only RSA-OAEP-256 KEKs have a public key');
    return subtle().exportKey('jwk', keys.wrapping);
  }

  /**
   * Destroys this KEK: drops the CryptoKey and, for persistent KEKs, deletes it from IndexedDB.
   * Every DEK it wrapped becomes unrecoverable (crypto-shredding); later calls fail with KeyStateError.
   */
  async destroy(): Promise<void> {
    this.#keys = undefined;
    await this.#forget?.();
  }

  /** destroyKek (KeyProvider): the same as destroy(); idempotent, the key is gone at once. */
  protected override async destroyKekKey(): Promise<RawDestruction> {
    await this.destroy();
    return { state: 'destroyed' };
  }

  #live(): Keys {
    if (this.#keys === undefined) throw new KeyStateError(`WebCrypto KEK '${this.kekId}' was destroyed`, { state: 'destroyed' });
    return this.#keys;
  }

  protected async wrapKey(dek: Uint8Array, context: WrapContext): Promise<RawWrapped> {
    const { wrapping } = this.#live();
    switch (this.algorithm) {
      case 'A256GCM': {
        const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
        const ct = new Uint8Array(await subtle().encrypt({ name: 'AES-GCM', iv, additionalData: encodeWrapContext(context) }, wrapping, new Uint8Array(dek)));
        const bytes = new Uint8Array(IV_BYTES + ct.length);
        bytes.set(iv, 0);
        bytes.set(ct, IV_BYTES);
        return { bytes, algorithm: 'A256GCM' };
      }
      case 'A256KW': {
        const copy = new Uint8Array(dek);
        try {
          const dekKey = await subtle().importKey('raw', copy, { name: 'AES-GCM' }, true, ['encrypt']);
          const kw = new Uint8Array(await subtle().wrapKey('raw', dekKey, wrapping, { name: 'AES-KW' }));
          return { bytes: appendTag(kw, await bindingTag(dek, context)), algorithm: 'A256KW' };
        } finally {
          copy.fill(0);
        }
      }
      case 'RSA-OAEP-256': {
        const bytes = new Uint8Array(await subtle().encrypt({ name: 'RSA-OAEP', label: encodeWrapContext(context) }, wrapping, new Uint8Array(dek)));
        return { bytes, algorithm: 'RSA-OAEP-256' };
      }
    }
  }

  protected async unwrapKey(wrapped: WrappedKey, context: WrapContext): Promise<Uint8Array> {
    const { unwrapping } = this.#live();
    if (unwrapping === undefined) {
      throw new NotSupportedError(`WebCrypto KEK '${this.kekId}' is encrypt-only (public key): only the private key's holder can unwrap`);
    }
    if (wrapped.algorithm !== this.algorithm) throw new InvalidInputError(`this KEK unwraps ${this.algorithm}; the key was wrapped with ${wrapped.algorithm}`);
    try {
      switch (this.algorithm) {
        case 'A256GCM': {
          if (wrapped.bytes.length !== GCM_WRAPPED_BYTES) throw new AuthenticationError('wrapped key has the wrong length');
          const pt = await subtle().decrypt(
            { name: 'AES-GCM', iv: wrapped.bytes.slice(0, IV_BYTES), additionalData: encodeWrapContext(context) },
            unwrapping,
            wrapped.bytes.slice(IV_BYTES),
          );
          return new Uint8Array(pt);
        }
        case 'A256KW': {
          const parts = splitTag(wrapped.bytes);
          if (!parts) throw new AuthenticationError('wrapped key is too short');
          const dekKey = await subtle().unwrapKey('raw', new Uint8Array(parts.blob), unwrapping, { name: 'AES-KW' }, { name: 'AES-GCM' }, true, ['encrypt']);
          const dek = new Uint8Array(await subtle().exportKey('raw', dekKey));
          return await checkBinding(dek, context, parts.tag);
        }
        case 'RSA-OAEP-256': {
          const pt = await subtle().decrypt({ name: 'RSA-OAEP', label: encodeWrapContext(context) }, unwrapping, new Uint8Array(wrapped.bytes));
          return restoreLeadingZeros(new Uint8Array(pt));
        }
      }
    } catch (err) {
      if (err instanceof AuthenticationError) throw err;
      // WebCrypto reports every failed tag, unwrap integrity check or OAEP decoding as OperationError.
      throw new AuthenticationError('the KEK refused the wrapped key', { cause: err });
    }
  }

  protected async describeKey(): Promise<KekDescription> {
    const keys = this.#keys;
    return {
      provider: this.id,
      kekId: this.kekId,
      state: keys === undefined ? 'destroyed' : 'enabled',
      algorithm: this.algorithm,
      canUnwrap: keys?.unwrapping !== undefined,
      details: { extractable: keys === undefined ? false : (keys.unwrapping ?? keys.wrapping).extractable, persistent: this.#forget !== undefined },
    };
  }
}

/**
 * WebKitGTK's RSA-OAEP (libgcrypt) returns the decoded message as a number, so a message that starts
 * with zero bytes comes back shorter: 1 DEK in 256 would arrive as 31 bytes. OAEP decoding has
 * already verified the padding and label by then, and a DEK is always 32 bytes, so the missing
 * bytes can only be those zeros: put them back.
 */
function restoreLeadingZeros(message: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  if (message.length === 0 || message.length >= 32) return message;
  const full = new Uint8Array(32);
  full.set(message, 32 - message.length);
  message.fill(0);
  return full;
}

/**
 * importWrapped's fallback for the same WebKitGTK defect, where unwrapKey then refuses a 31-byte AES
 * key: if the private key may also decrypt, decrypt, restore the zeros, import non-extractable and
 * wipe the bytes. Without the 'decrypt' usage the original error stands.
 */
async function unwrapThroughDecrypt(wrappedKek: Uint8Array, unwrapping: CryptoKey, params: AesKeyGenParams | RsaHashedKeyGenParams, usages: KeyUsage[], cause: unknown): Promise<CryptoKey> {
  const refused = (): InvalidInputError => new InvalidInputError('the wrapped KEK did not unwrap with this RSA key (wrong key, or not RSA-OAEP-SHA256 of a 32-byte key)', { cause });
  if (!unwrapping.usages.includes('decrypt')) throw refused();
  let raw: Uint8Array<ArrayBuffer> | undefined;
  try {
    raw = restoreLeadingZeros(new Uint8Array(await subtle().decrypt({ name: 'RSA-OAEP' }, unwrapping, new Uint8Array(wrappedKek))));
    if (raw.length !== 32) throw refused();
    return await subtle().importKey('raw', raw, params, false, usages);
  } catch (err) {
    throw err instanceof InvalidInputError ? err : refused();
  } finally {
    raw?.fill(0);
  }
}

async function generateKeys(algorithm: WebCryptoAlgorithm): Promise<Keys> {
  const { params, usages } = keyParams(algorithm);
  if (algorithm === 'RSA-OAEP-256') {
    const pair = (await subtle().generateKey(params, false, [...usages, 'unwrapKey'])) as CryptoKeyPair;
    return { wrapping: pair.publicKey, unwrapping: pair.privateKey };
  }
  const key = (await subtle().generateKey(params, false, usages)) as CryptoKey;
  return { wrapping: key, unwrapping: key };
}
