/**
 * One DEK wrapped under several KEKs: escrow (a recovery KEK beside the working one) and migration
 * between providers (wrap under old and new; unwrap with whichever is reachable; rewrap adds parts
 * for providers a key lacks). A multi-wrapped key holds one part per provider, each a complete
 * WrappedKey of that provider, in wrapping order.
 *
 * Unwrap tries the parts in the stated order (the `unwrapOrder` option, by default the order of
 * `providers`) and stops at the first that opens; `unwrapWithSource` reports which one did and
 * why the ones before it failed.
 */
import { AuthenticationError, InvalidInputError, NotSupportedError, ProviderError, VecsealError } from '../errors.js';
import {
  checkWrapContext,
  checkWrappedShape,
  checkDestroyKekOptions,
  sealWrappedKey,
  verifyWrappedKey,
  type DestroyKekOptions,
  type KekDestruction,
  type KekDescription,
  type KeyProvider,
  type ProviderCallOptions,
  type WrapContext,
  type WrappedKey,
} from './provider.js';

/** Layout version of a multi-wrapped key's own bytes: [version, part count]. */
const MULTI_LAYOUT = 1;

export interface MultiProviderOptions {
  /** Every KEK a new DEK is wrapped under (at least one). */
  providers: readonly KeyProvider[];
  /**
   * The order unwrap tries providers in, as indexes into `providers` (default: their order). Put
   * the cheapest or most available first; an escrow KEK usually goes last.
   */
  unwrapOrder?: readonly number[];
  /** Called after each successful unwrap with the provider that opened the key. */
  onUnwrap?: (source: UnwrapSource) => void;
}

/** Which provider opened a key, and why the ones tried before it did not. */
export interface UnwrapSource {
  provider: string;
  kekId: string;
  /** Index of the part that opened, in the wrapped key's parts. */
  part: number;
  failures: { provider: string; kekId: string; code: string; message: string }[];
}

export class MultiKeyProvider implements KeyProvider {
  readonly id = 'multi';
  readonly kekId: string;
  readonly #providers: readonly KeyProvider[];
  readonly #order: readonly number[];
  readonly #onUnwrap: ((source: UnwrapSource) => void) | undefined;

  constructor(options: MultiProviderOptions) {
    const providers = options?.providers;
    if (!Array.isArray(providers) || providers.length === 0) throw new InvalidInputError('MultiKeyProvider needs at least one provider');
    for (const p of providers) {
      if (typeof p?.wrap !== 'function' || typeof p.unwrap !== 'function') throw new InvalidInputError('every entry of providers must be a KeyProvider');
      if (p.id === 'multi') throw new InvalidInputError('a MultiKeyProvider cannot contain another MultiKeyProvider');
    }
    const keys = providers.map((p) => `${p.id}/${p.kekId}`);
    if (new Set(keys).size !== keys.length) throw new InvalidInputError('the same KEK is listed twice in providers');
    const order = options.unwrapOrder ?? providers.map((_, i) => i);
    if (order.length !== providers.length || new Set(order).size !== order.length || order.some((i) => !Number.isInteger(i) || i < 0 || i >= providers.length)) {
      throw new InvalidInputError('unwrapOrder must list each index of providers exactly once');
    }
    this.#providers = providers;
    this.#order = order;
    this.#onUnwrap = options.onUnwrap;
    this.kekId = `multi:${keys.join(',')}`;
  }

  /** Wraps the DEK under every provider (in parallel); fails if any provider fails, so no key is stored half-escrowed. */
  async wrap(dek: Uint8Array, context: WrapContext, options?: ProviderCallOptions): Promise<WrappedKey> {
    const ctx = checkWrapContext(context);
    const parts = await Promise.all(this.#providers.map((p) => p.wrap(dek, ctx, options)));
    return this.#assemble(parts, ctx);
  }

  async unwrap(wrapped: WrappedKey, context: WrapContext, options?: ProviderCallOptions): Promise<Uint8Array> {
    return (await this.unwrapWithSource(wrapped, context, options)).dek;
  }

  /**
   * Unwraps with the first provider (in unwrap order) that opens its part. Also accepts a key
   * wrapped by one of the providers directly (before a migration to multi-wrapping).
   * @returns the DEK and which provider opened it
   * @throws AuthenticationError if no listed provider holds a part, or every part was refused;
   *   the first other error (ProviderError, KeyStateError) if no part opened for another reason
   */
  async unwrapWithSource(wrapped: WrappedKey, context: WrapContext, options?: ProviderCallOptions): Promise<{ dek: Uint8Array; source: UnwrapSource }> {
    const ctx = checkWrapContext(context);
    const parts = await this.#partsOf(wrapped, ctx);
    const failures: UnwrapSource['failures'] = [];
    const errors: unknown[] = [];
    for (const index of this.#order) {
      const provider = this.#providers[index]!;
      const part = parts.findIndex((w) => w.provider === provider.id && w.kekId === provider.kekId);
      if (part < 0) continue;
      try {
        const dek = await provider.unwrap(parts[part]!, ctx, options);
        const source = { provider: provider.id, kekId: provider.kekId, part, failures };
        this.#onUnwrap?.(source);
        return { dek, source };
      } catch (err) {
        if (err instanceof VecsealError && err.code === 'ABORTED') throw err;
        errors.push(err);
        failures.push({ provider: provider.id, kekId: provider.kekId, code: err instanceof VecsealError ? err.code : 'UNKNOWN', message: err instanceof Error ? err.message : String(err) });
      }
    }
    if (errors.length === 0) {
      throw new AuthenticationError(`none of this provider's KEKs wrapped this key (it holds parts for ${parts.map((p) => `${p.provider}/${p.kekId}`).join(', ')})`, { reason: 'wrong-key' });
    }
    const summary = failures.map((f) => `${f.provider}/${f.kekId}: ${f.code}`).join('; ');
    const other = errors.find((e) => !(e instanceof AuthenticationError));
    if (other === undefined) {
      const first = errors[0] as AuthenticationError;
      throw new AuthenticationError(`no KEK opened the key (${summary})`, { reason: first.reason, cause: new AggregateError(errors) });
    }
    if (other instanceof VecsealError && other.code !== 'PROVIDER_ERROR') throw other;
    throw new ProviderError(`no KEK opened the key (${summary})`, { cause: new AggregateError(errors), kind: other instanceof ProviderError ? other.kind : undefined });
  }

  /** A DEK from the first provider that generates one, then wrapped by all the others. */
  async generateDataKey(context: WrapContext, options?: ProviderCallOptions): Promise<{ dek: Uint8Array; wrapped: WrappedKey }> {
    const ctx = checkWrapContext(context);
    const [first, ...rest] = this.#providers;
    const made = first!.generateDataKey
      ? await first!.generateDataKey(ctx, options)
      : await (async () => {
          const dek = crypto.getRandomValues(new Uint8Array(32));
          return { dek, wrapped: await first!.wrap(dek, ctx, options) };
        })();
    try {
      const others = await Promise.all(rest.map((p) => p.wrap(made.dek, ctx, options)));
      return { dek: made.dek, wrapped: await this.#assemble([made.wrapped, ...others], ctx) };
    } catch (err) {
      made.dek.fill(0);
      throw err;
    }
  }

  /**
   * Brings a key to the current set of providers: unwraps it (any part), then wraps it under
   * every provider, so parts for removed KEKs are dropped and parts for new ones added.
   */
  async rewrap(wrapped: WrappedKey, context: WrapContext, options?: ProviderCallOptions): Promise<WrappedKey> {
    const dek = await this.unwrap(wrapped, context, options);
    try {
      return await this.wrap(dek, context, options);
    } finally {
      dek.fill(0);
    }
  }

  /**
   * Asks every provider to destroy its KEK, one after another (options go to each; a provider
   * checks its own ranges, e.g. AWS pendingWindowInDays). A provider that cannot destroy its KEK is
   * listed in `notSupported`: the DEKs stay recoverable through it. `state` is 'destroyed' only
   * when every part destroyed its KEK at once; otherwise 'pending-deletion' (a part scheduled its
   * deletion, or cannot destroy), and `parts` / `notSupported` say which. Idempotent, like each part.
   * @throws NotSupportedError when no provider can destroy its KEK; the first other error of a
   *   part (the parts before it have done their destroy; calling again finishes the rest)
   */
  async destroyKek(options?: DestroyKekOptions): Promise<KekDestruction> {
    const opts = checkDestroyKekOptions(options);
    const parts: KekDestruction[] = [];
    const notSupported: string[] = [];
    for (const provider of this.#providers) {
      const name = `${provider.id}/${provider.kekId}`;
      if (typeof provider.destroyKek !== 'function') {
        notSupported.push(name);
        continue;
      }
      try {
        parts.push(await provider.destroyKek(opts));
      } catch (err) {
        if (!(err instanceof NotSupportedError)) throw err;
        notSupported.push(name);
      }
    }
    if (parts.length === 0) throw new NotSupportedError(`none of the providers of ${this.kekId} can destroy its KEK`);
    const allDestroyed = notSupported.length === 0 && parts.every((p) => p.state === 'destroyed');
    return { provider: this.id, kekId: this.kekId, state: allDestroyed ? 'destroyed' : 'pending-deletion', parts, notSupported };
  }

  /** 'enabled' only if every provider is; details list each provider's state. */
  async describe(options?: ProviderCallOptions): Promise<KekDescription> {
    const described = await Promise.all(
      this.#providers.map(async (p) => (p.describe ? p.describe(options) : { provider: p.id, kekId: p.kekId, state: 'unknown' as const, algorithm: 'unknown', canUnwrap: true })),
    );
    const details: Record<string, string> = {};
    described.forEach((d, i) => (details[`${i}:${d.provider}/${d.kekId}`] = d.state));
    return {
      provider: this.id,
      kekId: this.kekId,
      state: described.every((d) => d.state === 'enabled') ? 'enabled' : described.find((d) => d.state !== 'enabled')!.state,
      algorithm: 'multi',
      canUnwrap: described.some((d) => d.canUnwrap),
      details,
    };
  }

  #assemble(parts: WrappedKey[], ctx: WrapContext): Promise<WrappedKey> {
    return sealWrappedKey(this.id, this.kekId, { bytes: Uint8Array.of(MULTI_LAYOUT, parts.length), algorithm: 'multi' }, ctx, parts);
  }

  /** The parts to try: a multi key's parts after checking its envelope, or a single provider's key as its only part. */
  async #partsOf(wrapped: WrappedKey, ctx: WrapContext): Promise<readonly WrappedKey[]> {
    if (wrapped === null || typeof wrapped !== 'object') throw new InvalidInputError('a wrapped key must be an object (see WrappedKey)');
    if (wrapped.provider !== this.id) {
      if (!this.#providers.some((p) => p.id === wrapped.provider)) throw new InvalidInputError(`this key was wrapped by provider '${wrapped.provider}', which is not in this MultiKeyProvider`);
      return [wrapped];
    }
    checkWrappedShape(wrapped);
    if (!Array.isArray(wrapped.parts)) throw new InvalidInputError('a multi-wrapped key needs its parts');
    await verifyWrappedKey(wrapped, ctx);
    const parts = wrapped.parts;
    if (wrapped.bytes.length !== 2 || wrapped.bytes[0] !== MULTI_LAYOUT || wrapped.bytes[1] !== parts.length || parts.length === 0) {
      throw new AuthenticationError(`multi-wrapped key layout is not version ${MULTI_LAYOUT} with ${parts.length} parts`, { reason: 'tampered' });
    }
    return parts;
  }
}
