/**
 * A KEK held by WebCrypto: a non-extractable AES-256-GCM CryptoKey (generated here, or imported
 * once and then non-extractable). Wrapping is AES-GCM with a random 96-bit IV and the wrap context
 * as AAD; wrapped bytes are iv || ciphertext || tag. Works in browsers and Node. Issue 4 adds
 * AES-KW, RSA-OAEP and IndexedDB persistence.
 */
import { AuthenticationError, InvalidInputError, NotSupportedError } from '../errors.js';
import { encodeWrapContext, type KeyProvider, type WrapContext, type WrappedKey } from './provider.js';

const ALGORITHM = 'A256GCM';

function subtle(): SubtleCrypto {
  const s = globalThis.crypto?.subtle;
  if (!s) throw new NotSupportedError('WebCrypto (crypto.subtle) is not available here; it needs a secure context');
  return s;
}

export class WebCryptoKeyProvider implements KeyProvider {
  readonly id = 'webcrypto';
  readonly kekId: string;
  readonly #kek: CryptoKey;

  private constructor(kek: CryptoKey, kekId: string) {
    this.#kek = kek;
    this.kekId = kekId;
  }

  /** A fresh non-extractable AES-256-GCM KEK. */
  static async generate(options: { kekId?: string } = {}): Promise<WebCryptoKeyProvider> {
    const kek = await subtle().generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
    return new WebCryptoKeyProvider(kek, options.kekId ?? `kek-${crypto.randomUUID()}`);
  }

  /** Wraps an existing AES-GCM CryptoKey (e.g. one kept in IndexedDB). */
  static fromCryptoKey(kek: CryptoKey, kekId: string): WebCryptoKeyProvider {
    if (kek?.algorithm?.name !== 'AES-GCM' || !kek.usages.includes('encrypt') || !kek.usages.includes('decrypt')) {
      throw new InvalidInputError('the KEK must be an AES-GCM CryptoKey with encrypt and decrypt usages');
    }
    return new WebCryptoKeyProvider(kek, kekId);
  }

  async wrap(dek: Uint8Array, context: WrapContext): Promise<WrappedKey> {
    if (!(dek instanceof Uint8Array) || dek.length !== 32) throw new InvalidInputError('a DEK to wrap must be 32 bytes');
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const ct = new Uint8Array(await subtle().encrypt({ name: 'AES-GCM', iv, additionalData: encodeWrapContext(context) }, this.#kek, new Uint8Array(dek)));
    const bytes = new Uint8Array(12 + ct.length);
    bytes.set(iv, 0);
    bytes.set(ct, 12);
    return { provider: this.id, kekId: this.kekId, algorithm: ALGORITHM, bytes };
  }

  async unwrap(wrapped: WrappedKey, context: WrapContext): Promise<Uint8Array> {
    if (wrapped?.provider !== this.id || wrapped.algorithm !== ALGORITHM || !(wrapped.bytes instanceof Uint8Array)) {
      throw new InvalidInputError(`this WebCrypto provider unwraps ${ALGORITHM} keys it wrapped; got ${String(wrapped?.provider)}/${String(wrapped?.algorithm)}`);
    }
    if (wrapped.kekId !== this.kekId) throw new AuthenticationError(`the DEK was wrapped under KEK ${wrapped.kekId}, not ${this.kekId}`);
    if (wrapped.bytes.length !== 12 + 32 + 16) throw new AuthenticationError('wrapped key has the wrong length');
    try {
      const iv = wrapped.bytes.slice(0, 12);
      const pt = await subtle().decrypt({ name: 'AES-GCM', iv, additionalData: encodeWrapContext(context) }, this.#kek, wrapped.bytes.slice(12));
      return new Uint8Array(pt);
    } catch (err) {
      throw new AuthenticationError('the DEK did not unwrap: wrong KEK, wrong context, or tampered wrapped key', { cause: err });
    }
  }
}
