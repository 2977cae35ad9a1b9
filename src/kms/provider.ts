/**
 * The KEK side of envelope encryption: one KeyProvider interface for every place a KEK can live
 * (WebCrypto, cloud KMSs, Vault Transit, PKCS#11 HSMs, KMIP servers), and the base class every
 * provider in this package extends, which checks inputs and outputs once for all of them and adds
 * timeouts, retries with jittered backoff, and the wrapped-key envelope (README "Key providers",
 * FORMAT.md "Wrapped keys").
 *
 * A provider never lets its KEK out. A DEK it wraps is bound to a WrapContext: unwrapping under any
 * other context fails.
 */
import { AbortedError, AuthenticationError, InvalidInputError, NotSupportedError, ProviderError, VecsealError, type KekState } from '../errors.js';
import { isoMillis } from './_dates.js';
import { checksumOf, contextDigestOf, encodeWrapContext, sameBytes, CHECKSUM_BYTES, CONTEXT_DIGEST_BYTES } from './_envelope.js';

export { encodeWrapContext };
export { decodeWrappedKey, encodeWrappedKey, WRAPPED_KEY_FORMAT } from './_envelope.js';

/** Bytes in a DEK (AES-256). */
export const DEK_BYTES = 32;

/** What a wrapped DEK is bound to: unwrapping under any other context fails. */
export interface WrapContext {
  dekId: string;
  /** The DEK's version, an integer >= 1. */
  keyVersion: number;
  collection: string;
  /** '' for single-tenant apps. */
  tenant: string;
}

/**
 * A wrapped DEK plus what is needed to find its KEK again. Contains no secret; safe to store
 * anywhere. Serialised by encodeWrappedKey in the versioned form FORMAT.md describes.
 */
export interface WrappedKey {
  /** Which kind of provider made it (e.g. 'webcrypto', 'aws-kms', 'multi'). */
  provider: string;
  /** The KEK's identifier within the provider (key ARN, resource name, key URL, label, ...). */
  kekId: string;
  /** The KEK version that wrapped it, where the provider has versions. */
  kekVersion?: string | undefined;
  /** Wrapping algorithm, e.g. 'A256GCM', 'A256KW', 'RSA-OAEP-256', 'AWS-KMS'. */
  algorithm: string;
  /** What the provider produced (opaque to everyone else). */
  bytes: Uint8Array;
  /** First 16 bytes of SHA-256 over the wrap context: tells a wrong context from a wrong key. */
  contextDigest: Uint8Array;
  /** First 16 bytes of SHA-256 over every other field: tells tampering from a wrong key. */
  checksum: Uint8Array;
  /** For 'multi': the same DEK wrapped by each provider, in wrapping order. */
  parts?: readonly WrappedKey[] | undefined;
}

/** What a provider says about its KEK. No secret. */
export interface KekDescription {
  provider: string;
  kekId: string;
  /** The version new wraps use, where the provider has versions. */
  kekVersion?: string | undefined;
  state: KekState;
  /** Algorithm new wraps use. */
  algorithm: string;
  /** False when this provider can wrap but not unwrap (an RSA public key only). */
  canUnwrap: boolean;
  /** Provider-specific facts (creation date, protection level, ...). */
  details?: Record<string, string | number | boolean> | undefined;
}

export interface ProviderCallOptions {
  /** Stops the call (and its retries); the call rejects with AbortedError. */
  signal?: AbortSignal | undefined;
}

/** What destroyKek did. No secret. */
export interface KekDestruction {
  /** The provider's id. */
  provider: string;
  kekId: string;
  /**
   * 'destroyed': the key material is gone now; 'pending-deletion': the service deletes it at
   * deletionDate (and may still recover it until then).
   */
  state: 'destroyed' | 'pending-deletion';
  /** ISO 8601, for 'pending-deletion' where the service says. */
  deletionDate?: string | undefined;
  /** Versions destroyed or scheduled, where the provider has versions. */
  versions?: string[] | undefined;
  /** MultiKeyProvider: what each part did (parts that cannot destroy are listed in notSupported). */
  parts?: KekDestruction[] | undefined;
  /**
   * MultiKeyProvider: the parts (`provider/kekId`) that cannot destroy their KEK. DEKs stay
   * recoverable through them: a shred is complete only when this is empty.
   */
  notSupported?: string[] | undefined;
}

export interface DestroyKekOptions extends ProviderCallOptions {
  /** Days before a scheduled deletion takes effect where the service asks for it (AWS KMS: 7..30, default 7). */
  pendingWindowInDays?: number;
  /** Azure: purge the soft-deleted key at once where the vault allows it (default false: soft delete, 'pending-deletion'). */
  purge?: boolean;
}

export interface KeyProvider {
  /** Provider kind, recorded in each WrappedKey. */
  readonly id: string;
  /** The KEK new wraps use. */
  readonly kekId: string;
  /**
   * Wraps a 32-byte DEK under the KEK, bound to `context`; the caller keeps ownership of `dek`.
   * @throws InvalidInputError, ProviderError, KeyStateError (KEK disabled or destroyed)
   */
  wrap(dek: Uint8Array, context: WrapContext, options?: ProviderCallOptions): Promise<WrappedKey>;
  /**
   * @returns the DEK (a fresh buffer the caller must wipe)
   * @throws AuthenticationError with `reason` 'wrong-context' | 'wrong-key' | 'tampered';
   *   KeyStateError for a disabled or destroyed KEK; ProviderError; InvalidInputError
   */
  unwrap(wrapped: WrappedKey, context: WrapContext, options?: ProviderCallOptions): Promise<Uint8Array>;
  /** A new random DEK and its wrapped form, in one round trip where the service has it. */
  generateDataKey?(context: WrapContext, options?: ProviderCallOptions): Promise<{ dek: Uint8Array; wrapped: WrappedKey }>;
  /**
   * Re-wraps under the provider's current KEK (version), without the DEK leaving the service
   * where the service can do that (AWS ReEncrypt, Vault rewrap); otherwise unwrap + wrap here.
   */
  rewrap?(wrapped: WrappedKey, context: WrapContext, options?: ProviderCallOptions): Promise<WrappedKey>;
  /** The KEK's id, version and state. */
  describe?(options?: ProviderCallOptions): Promise<KekDescription>;
  /**
   * Destroys the KEK (every version of it), or schedules its deletion where that is all the service
   * allows: crypto-shredding of every DEK it wrapped. Idempotent: a KEK already destroyed or pending
   * deletion is reported as such. Afterwards wrap fails, and unwrap fails with KeyStateError of the
   * reported state.
   * @throws NotSupportedError where the provider cannot destroy its KEK; InvalidInputError; ProviderError
   */
  destroyKek?(options?: DestroyKekOptions): Promise<KekDestruction>;
}

/** What a provider implementation produces for a wrap; the base adds the digests. */
export interface RawWrapped {
  bytes: Uint8Array;
  algorithm: string;
  /** Defaults to the provider's kekId. */
  kekId?: string;
  kekVersion?: string | undefined;
}

/** What a provider implementation reports for destroyKek; the base adds provider and kekId. */
export interface RawDestruction {
  state: KekDestruction['state'];
  deletionDate?: string | undefined;
  versions?: string[] | undefined;
}

/** Passed to each attempt of an operation. */
export interface Attempt {
  /** Fires when the caller aborts or this attempt's timeout passes: pass it to fetch / sockets. */
  signal: AbortSignal;
  /** 1 for the first try. */
  number: number;
}

export interface RetryOptions {
  /** Attempts in all, the first included (default 4). Only throttling and server errors are retried. */
  maxAttempts?: number;
  /** Backoff before retry n is a random delay in [0, min(maxDelayMs, baseDelayMs * 2^n)) (default 100). */
  baseDelayMs?: number;
  /** Default 2000. */
  maxDelayMs?: number;
}

export interface ProviderOptions {
  /** Time allowed for one attempt of one operation (default 10,000 ms). */
  timeoutMs?: number;
  retry?: RetryOptions;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_RETRY: Required<RetryOptions> = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 2000 };
const MAX_KEY_VERSION = 0xffff_ffff;

/** Checks a WrapContext's shape; messages name the field, never its value. */
export function checkWrapContext(context: unknown): WrapContext {
  if (context === null || typeof context !== 'object') throw new InvalidInputError('a wrap context must be an object { dekId, keyVersion, collection, tenant }');
  const c = context as Record<string, unknown>;
  if (typeof c.dekId !== 'string' || c.dekId === '') throw new InvalidInputError('wrap context dekId must be a non-empty string');
  if (!Number.isInteger(c.keyVersion) || (c.keyVersion as number) < 1 || (c.keyVersion as number) > MAX_KEY_VERSION) {
    throw new InvalidInputError('wrap context keyVersion must be an integer from 1 to 2^32 - 1');
  }
  if (typeof c.collection !== 'string' || c.collection === '') throw new InvalidInputError('wrap context collection must be a non-empty string');
  if (typeof c.tenant !== 'string') throw new InvalidInputError('wrap context tenant must be a string');
  return { dekId: c.dekId, keyVersion: c.keyVersion as number, collection: c.collection, tenant: c.tenant };
}

function checkDek(dek: unknown): Uint8Array {
  if (!(dek instanceof Uint8Array)) throw new InvalidInputError('a DEK must be a Uint8Array');
  if (dek.length !== DEK_BYTES) throw new InvalidInputError(`a DEK must be ${DEK_BYTES} bytes; got ${dek.length}`);
  return dek;
}

/** Checks a WrappedKey's shape (types and digest lengths); messages name the field. */
export function checkWrappedShape(wrapped: unknown): WrappedKey {
  if (wrapped === null || typeof wrapped !== 'object') throw new InvalidInputError('a wrapped key must be an object (see WrappedKey)');
  const w = wrapped as Record<string, unknown>;
  for (const field of ['provider', 'kekId', 'algorithm'] as const) {
    if (typeof w[field] !== 'string' || w[field] === '') throw new InvalidInputError(`wrapped key ${field} must be a non-empty string`);
  }
  if (w.kekVersion !== undefined && typeof w.kekVersion !== 'string') throw new InvalidInputError('wrapped key kekVersion must be a string when present');
  if (!(w.bytes instanceof Uint8Array)) throw new InvalidInputError('wrapped key bytes must be a Uint8Array');
  if (!(w.contextDigest instanceof Uint8Array) || w.contextDigest.length !== CONTEXT_DIGEST_BYTES) {
    throw new InvalidInputError(`wrapped key contextDigest must be ${CONTEXT_DIGEST_BYTES} bytes`);
  }
  if (!(w.checksum instanceof Uint8Array) || w.checksum.length !== CHECKSUM_BYTES) throw new InvalidInputError(`wrapped key checksum must be ${CHECKSUM_BYTES} bytes`);
  if (w.parts !== undefined && !Array.isArray(w.parts)) throw new InvalidInputError('wrapped key parts must be an array when present');
  return wrapped as WrappedKey;
}

const DESTROY_OPTIONS: readonly string[] = ['pendingWindowInDays', 'purge', 'signal'];

/**
 * Checks destroyKek's options (types only; a provider checks its service's ranges).
 * @throws InvalidInputError naming the option
 */
export function checkDestroyKekOptions(options: unknown): DestroyKekOptions {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object') throw new InvalidInputError('destroyKek options must be an object { pendingWindowInDays?, purge?, signal? }');
  const o = options as Record<string, unknown>;
  // A destructive call: a misspelt option must not fall back to a default without a word.
  for (const name of Object.keys(o)) {
    if (!DESTROY_OPTIONS.includes(name)) throw new InvalidInputError(`destroyKek has no option '${name}' (it takes ${DESTROY_OPTIONS.join(', ')})`);
  }
  if (o.pendingWindowInDays !== undefined && (!Number.isInteger(o.pendingWindowInDays) || (o.pendingWindowInDays as number) < 1)) {
    throw new InvalidInputError('pendingWindowInDays must be a whole number of days >= 1');
  }
  if (o.purge !== undefined && typeof o.purge !== 'boolean') throw new InvalidInputError('purge must be a boolean');
  return options as DestroyKekOptions;
}

/**
 * Builds a WrappedKey from what a provider produced: computes its context digest and checksum.
 * Providers that extend BaseKeyProvider never call this themselves.
 */
export async function sealWrappedKey(provider: string, kekId: string, raw: RawWrapped, context: WrapContext, parts?: readonly WrappedKey[]): Promise<WrappedKey> {
  const partial: Omit<WrappedKey, 'checksum'> = {
    provider,
    kekId: raw.kekId ?? kekId,
    ...(raw.kekVersion !== undefined ? { kekVersion: raw.kekVersion } : {}),
    algorithm: raw.algorithm,
    bytes: raw.bytes,
    contextDigest: await contextDigestOf(context),
    ...(parts !== undefined ? { parts } : {}),
  };
  return { ...partial, checksum: await checksumOf(partial) };
}

/**
 * Checks a wrapped key before any provider sees it, in the order that makes failures distinct:
 * tampered fields, then the context. (Which KEK is the provider's business: BaseKeyProvider.)
 * @throws AuthenticationError with reason 'tampered' or 'wrong-context'
 */
export async function verifyWrappedKey(wrapped: WrappedKey, context: WrapContext): Promise<void> {
  if (!sameBytes(await checksumOf(wrapped), wrapped.checksum)) {
    throw new AuthenticationError('the wrapped key was changed after wrapping (checksum mismatch)', { reason: 'tampered' });
  }
  if (!sameBytes(await contextDigestOf(context), wrapped.contextDigest)) {
    throw new AuthenticationError('the DEK was wrapped under another context (collection, tenant, DEK id or version differ)', { reason: 'wrong-context' });
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Zeroes a late result that nobody will read (a DEK that arrived after its timeout). */
function wipeLate(value: unknown): void {
  if (value instanceof Uint8Array) value.fill(0);
  else if (value !== null && typeof value === 'object' && 'dek' in value && (value as { dek: unknown }).dek instanceof Uint8Array) {
    (value as { dek: Uint8Array }).dek.fill(0);
  }
}

/**
 * What every provider in this package extends. Subclasses implement the protected `*Key` methods;
 * the public methods check arguments and results, bound each attempt by `timeoutMs`, retry
 * throttling and server errors with jittered exponential backoff, and turn anything unexpected
 * into a ProviderError. Implementations throw:
 * - AuthenticationError when the KEK refuses the wrapped bytes (the base adds the reason);
 * - KeyStateError (with `state`) when the KEK is disabled or destroyed;
 * - ProviderError with `kind` for service failures (`throttled`/`unavailable` are retried).
 */
export abstract class BaseKeyProvider implements KeyProvider {
  abstract readonly id: string;
  abstract readonly kekId: string;
  readonly #timeoutMs: number;
  readonly #retry: Required<RetryOptions>;
  #destroyed: KekDestruction['state'] | undefined;

  constructor(options: ProviderOptions = {}) {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!(timeoutMs > 0) || !Number.isFinite(timeoutMs)) throw new InvalidInputError('timeoutMs must be a positive number');
    const retry = { ...DEFAULT_RETRY, ...options.retry };
    if (!Number.isInteger(retry.maxAttempts) || retry.maxAttempts < 1) throw new InvalidInputError('retry.maxAttempts must be an integer >= 1');
    if (!(retry.baseDelayMs >= 0) || !(retry.maxDelayMs >= 0)) throw new InvalidInputError('retry delays must be >= 0');
    this.#timeoutMs = timeoutMs;
    this.#retry = retry;
  }

  /** Wraps `dek` (32 bytes, not modified). */
  protected abstract wrapKey(dek: Uint8Array, context: WrapContext, attempt: Attempt): Promise<RawWrapped>;
  /** Unwraps bytes this provider's KEK made; the base has checked checksum, context and KEK id. */
  protected abstract unwrapKey(wrapped: WrappedKey, context: WrapContext, attempt: Attempt): Promise<Uint8Array>;
  protected abstract describeKey(attempt: Attempt): Promise<KekDescription>;

  /** One round trip where the service generates keys; default: a random DEK, then wrapKey. */
  protected async generateKey(context: WrapContext, attempt: Attempt): Promise<{ dek: Uint8Array; raw: RawWrapped }> {
    const dek = crypto.getRandomValues(new Uint8Array(DEK_BYTES));
    try {
      return { dek, raw: await this.wrapKey(dek, context, attempt) };
    } catch (err) {
      dek.fill(0);
      throw err;
    }
  }

  /** Service-side re-wrap where there is one; default: unwrap and wrap here, wiping the DEK. */
  protected async rewrapKey(wrapped: WrappedKey, context: WrapContext, attempt: Attempt): Promise<RawWrapped> {
    const dek = await this.unwrapKey(wrapped, context, attempt);
    try {
      if (dek.length !== DEK_BYTES) throw new ProviderError(`${this.id} unwrapped ${dek.length} bytes, expected ${DEK_BYTES}`, { kind: 'protocol' });
      return await this.wrapKey(dek, context, attempt);
    } finally {
      dek.fill(0);
    }
  }

  /**
   * Destroys the KEK (or schedules its deletion) at the service; must be idempotent, since a shred
   * is retried after a crash: a KEK already destroyed or pending deletion is reported as such.
   * Default: this provider cannot destroy its KEK.
   */
  protected async destroyKekKey(_attempt: Attempt, _options: DestroyKekOptions): Promise<RawDestruction> {
    throw new NotSupportedError(`${this.id} cannot destroy its KEK '${this.kekId}' (destroy or schedule its deletion with the service's own tools)`);
  }

  /** Checks destroyKek options against the service's limits, before any request (default: none). */
  protected checkDestroyOptions(_options: DestroyKekOptions): void {}

  /**
   * The state this provider's own destroyKek left its KEK in, if it ran. For services where a
   * destroyed key and a key that never existed answer alike ("not found"), this is what tells them
   * apart for wrap and describe.
   */
  protected get destroyedKek(): KekDestruction['state'] | undefined {
    return this.#destroyed;
  }

  /** Whether this provider can unwrap what a KEK with this id wrapped (e.g. older key versions). */
  protected ownsKek(wrapped: WrappedKey): boolean {
    return wrapped.kekId === this.kekId;
  }

  async wrap(dek: Uint8Array, context: WrapContext, options?: ProviderCallOptions): Promise<WrappedKey> {
    checkDek(dek);
    const ctx = checkWrapContext(context);
    const raw = await this.run('wrap', options, (a) => this.wrapKey(dek, ctx, a));
    return this.#seal(raw, ctx);
  }

  async unwrap(wrapped: WrappedKey, context: WrapContext, options?: ProviderCallOptions): Promise<Uint8Array> {
    const { wrapped: w, context: ctx } = await this.checkWrapped(wrapped, context);
    const dek = await this.run('unwrap', options, (a) => this.unwrapKey(w, ctx, a));
    return this.#checkDekOut(dek);
  }

  async generateDataKey(context: WrapContext, options?: ProviderCallOptions): Promise<{ dek: Uint8Array; wrapped: WrappedKey }> {
    const ctx = checkWrapContext(context);
    const { dek, raw } = await this.run('generateDataKey', options, (a) => this.generateKey(ctx, a));
    try {
      this.#checkDekOut(dek);
      return { dek, wrapped: await this.#seal(raw, ctx) };
    } catch (err) {
      dek.fill(0);
      throw err;
    }
  }

  async rewrap(wrapped: WrappedKey, context: WrapContext, options?: ProviderCallOptions): Promise<WrappedKey> {
    const { wrapped: w, context: ctx } = await this.checkWrapped(wrapped, context);
    const raw = await this.run('rewrap', options, (a) => this.rewrapKey(w, ctx, a));
    return this.#seal(raw, ctx);
  }

  /**
   * The checks unwrap and rewrap make before the KEK is asked, for subclasses with bulk methods:
   * shape, provider, checksum (reason 'tampered'), context (reason 'wrong-context'), KEK (reason 'wrong-key').
   */
  protected async checkWrapped(wrapped: WrappedKey, context: WrapContext): Promise<{ wrapped: WrappedKey; context: WrapContext }> {
    const w = this.#checkForUnwrap(wrapped);
    const ctx = checkWrapContext(context);
    await verifyWrappedKey(w, ctx);
    this.#checkOwner(w);
    return { wrapped: w, context: ctx };
  }

  async describe(options?: ProviderCallOptions): Promise<KekDescription> {
    return this.run('describe', options, (a) => this.describeKey(a));
  }

  /**
   * Destroys the KEK, or schedules its deletion where that is all the service allows (see each
   * provider and README "Key providers"); retried and bounded like every other operation.
   * @param options pendingWindowInDays, purge, signal
   * @returns what was done; no secret
   * @throws InvalidInputError for bad options (before any request); NotSupportedError where the
   *   provider cannot destroy its KEK; ProviderError; AbortedError
   */
  async destroyKek(options?: DestroyKekOptions): Promise<KekDestruction> {
    const opts = checkDestroyKekOptions(options);
    this.checkDestroyOptions(opts);
    const raw = await this.run('destroyKek', opts, (a) => this.destroyKekKey(a, opts));
    const result = this.#destruction(raw);
    this.#destroyed = result.state;
    return result;
  }

  #checkForUnwrap(wrapped: WrappedKey): WrappedKey {
    const w = checkWrappedShape(wrapped);
    if (w.provider !== this.id) throw new InvalidInputError(`this key was wrapped by provider '${w.provider}', not '${this.id}'`);
    if (w.bytes.length === 0) throw new AuthenticationError('the wrapped key has no bytes', { reason: 'tampered' });
    return w;
  }

  #checkOwner(w: WrappedKey): void {
    if (!this.ownsKek(w)) throw new AuthenticationError(`the DEK was wrapped under KEK '${w.kekId}', not this provider's '${this.kekId}'`, { reason: 'wrong-key' });
  }

  #checkDekOut(dek: unknown): Uint8Array {
    if (!(dek instanceof Uint8Array) || dek.length !== DEK_BYTES) {
      if (dek instanceof Uint8Array) dek.fill(0);
      throw new ProviderError(`${this.id} returned a data key of the wrong size (expected ${DEK_BYTES} bytes)`, { kind: 'protocol' });
    }
    return dek;
  }

  #destruction(raw: RawDestruction): KekDestruction {
    const bad = (what: string): ProviderError => new ProviderError(`${this.id} destroyKek returned ${what}`, { kind: 'protocol' });
    if (raw === null || typeof raw !== 'object') throw bad('no result');
    if (raw.state !== 'destroyed' && raw.state !== 'pending-deletion') throw bad(`the state '${String(raw.state)}' (expected 'destroyed' or 'pending-deletion')`);
    if (raw.deletionDate !== undefined && (typeof raw.deletionDate !== 'string' || Number.isNaN(isoMillis(raw.deletionDate)))) throw bad('a deletion date that is not ISO 8601');
    if (raw.versions !== undefined && (!Array.isArray(raw.versions) || raw.versions.some((v) => typeof v !== 'string' || v === ''))) throw bad('versions that are not non-empty strings');
    return {
      provider: this.id,
      kekId: this.kekId,
      state: raw.state,
      ...(raw.state === 'pending-deletion' && raw.deletionDate !== undefined ? { deletionDate: raw.deletionDate } : {}),
      ...(raw.versions !== undefined ? { versions: [...raw.versions] } : {}),
    };
  }

  async #seal(raw: RawWrapped, ctx: WrapContext): Promise<WrappedKey> {
    if (raw === null || typeof raw !== 'object' || !(raw.bytes instanceof Uint8Array) || raw.bytes.length === 0 || typeof raw.algorithm !== 'string') {
      throw new ProviderError(`${this.id} returned no wrapped key bytes`, { kind: 'protocol' });
    }
    return sealWrappedKey(this.id, this.kekId, raw, ctx);
  }

  /**
   * One operation: attempts bounded by the timeout, retried while the failure is retryable, errors
   * normalised (see toVecsealError). Subclasses with bulk methods (Vault's rewrapMany) run their
   * requests through it too.
   */
  protected async run<T>(op: string, options: ProviderCallOptions | undefined, fn: (attempt: Attempt) => Promise<T>): Promise<T> {
    const outer = options?.signal;
    for (let number = 1; ; number++) {
      if (outer?.aborted) throw new AbortedError(`${this.id} ${op} was aborted`, { cause: outer.reason });
      try {
        return await this.#attempt(op, number, outer, fn);
      } catch (err) {
        const error = this.toVecsealError(op, err, number, outer);
        if (!(error instanceof ProviderError) || !error.retryable || number >= this.#retry.maxAttempts) throw error;
        const cap = Math.min(this.#retry.maxDelayMs, this.#retry.baseDelayMs * 2 ** number);
        try {
          await sleep(Math.random() * cap, outer);
        } catch (reason) {
          throw new AbortedError(`${this.id} ${op} was aborted`, { cause: reason });
        }
      }
    }
  }

  /** Runs one attempt; its signal fires on the caller's abort or the timeout, and the attempt loses the race either way. */
  #attempt<T>(op: string, number: number, outer: AbortSignal | undefined, fn: (attempt: Attempt) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const finish = (): void => {
        settled = true;
        clearTimeout(timer);
        outer?.removeEventListener('abort', onAbort);
      };
      const timer = setTimeout(() => {
        if (settled) return;
        finish();
        const error = new ProviderError(`${this.id} ${op} timed out after ${this.#timeoutMs} ms`, { kind: 'timeout', attempts: number });
        controller.abort(error);
        reject(error);
      }, this.#timeoutMs);
      const onAbort = (): void => {
        if (settled) return;
        finish();
        controller.abort(outer!.reason);
        reject(new AbortedError(`${this.id} ${op} was aborted`, { cause: outer!.reason }));
      };
      outer?.addEventListener('abort', onAbort, { once: true });
      let running: Promise<T>;
      try {
        running = fn({ signal: controller.signal, number });
      } catch (err) {
        running = Promise.reject(err);
      }
      running.then(
        (value) => {
          if (settled) wipeLate(value);
          else {
            finish();
            resolve(value);
          }
        },
        (err) => {
          if (settled) return;
          finish();
          reject(err);
        },
      );
    });
  }

  /**
   * What callers see for a failure: ProviderErrors with their attempt count, a KEK's refusal as
   * AuthenticationError reason 'wrong-key', the caller's abort as AbortedError, anything else as a
   * ProviderError naming only the error's class.
   */
  protected toVecsealError(op: string, err: unknown, attempts?: number, outer?: AbortSignal): VecsealError {
    if (err instanceof ProviderError) {
      return attempts === undefined || err.attempts === attempts ? err : new ProviderError(err.message, { cause: err.cause ?? err, providerCode: err.providerCode, kind: err.kind, status: err.status, attempts });
    }
    if (err instanceof AuthenticationError && err.reason === undefined) {
      // The bytes are as written and the context matches (checked before the call), so the KEK that opens them is not this one.
      return new AuthenticationError(`${this.id} could not unwrap the DEK with KEK '${this.kekId}': it was wrapped by another key (or its material changed)`, { cause: err, reason: 'wrong-key' });
    }
    if (err instanceof VecsealError) return err;
    if (outer?.aborted) return new AbortedError(`${this.id} ${op} was aborted`, { cause: outer.reason });
    const name = err instanceof Error ? err.name : typeof err;
    return new ProviderError(`${this.id} ${op} failed (${name})`, { cause: err, attempts: attempts ?? 1 });
  }
}
