/**
 * The KEK side of envelope encryption: a KeyProvider wraps and unwraps DEKs under a context, and
 * never lets its KEK out. Issue 4 adds the cloud, Vault, PKCS#11 and KMIP providers behind this
 * same interface.
 */

/** What a wrapped DEK is bound to: unwrapping under any other context fails. */
export interface WrapContext {
  dekId: string;
  keyVersion: number;
  collection: string;
  tenant: string;
}

/** A wrapped DEK plus what is needed to find its KEK again. Contains no secret. */
export interface WrappedKey {
  /** Which provider made it (e.g. 'webcrypto'). */
  provider: string;
  /** The KEK's identifier within the provider. */
  kekId: string;
  /** Wrapping algorithm, e.g. 'A256GCM'. */
  algorithm: string;
  bytes: Uint8Array;
}

export interface KeyProvider {
  /** Provider kind, recorded in each WrappedKey. */
  readonly id: string;
  /** Wraps a 32-byte DEK; the caller keeps ownership of `dek`. */
  wrap(dek: Uint8Array, context: WrapContext): Promise<WrappedKey>;
  /**
   * @returns the DEK (a fresh buffer the caller must wipe)
   * @throws AuthenticationError for a wrong context, wrong KEK or tampered bytes
   */
  unwrap(wrapped: WrappedKey, context: WrapContext): Promise<Uint8Array>;
}

const encoder = new TextEncoder();

/** Canonical bytes of a wrap context (length-prefixed fields), used as AAD by providers that take bytes. */
export function encodeWrapContext(ctx: WrapContext): Uint8Array<ArrayBuffer> {
  const fields = [encoder.encode('vecseal/wrap/v1'), encoder.encode(ctx.dekId), encoder.encode(String(ctx.keyVersion)), encoder.encode(ctx.collection), encoder.encode(ctx.tenant)];
  const out = new Uint8Array(fields.reduce((n, f) => n + 4 + f.length, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const f of fields) {
    view.setUint32(at, f.length, false);
    out.set(f, at + 4);
    at += 4 + f.length;
  }
  return out;
}
