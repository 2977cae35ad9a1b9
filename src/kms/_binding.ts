/**
 * Context binding for wrapping mechanisms that take no associated data (AES-KW / RFC 3394 and
 * RFC 5649, Azure's RSA-OAEP-256 and A256KW, KMIP key wrapping): the provider stores, beside the
 * wrapped DEK, tag = HMAC-SHA256(HKDF-SHA256(DEK, salt = "", info = "vecseal/wrap-binding/v1"),
 * encodeWrapContext(context)), and checks it after unwrapping. Only the holder of the DEK can make
 * the tag, so a DEK unwrapped under another context is refused (and wiped) before anyone sees it.
 * FORMAT.md "Wrapped keys" describes where each provider keeps it.
 */
import { AuthenticationError } from '../errors.js';
import { loadCore } from '../core/index.js';
import { encodeWrapContext, sameBytes } from './_envelope.js';
import type { WrapContext } from './provider.js';

export const BINDING_TAG_BYTES = 32;
const INFO = new TextEncoder().encode('vecseal/wrap-binding/v1');

/** The binding tag of `dek` to `context`. */
export async function bindingTag(dek: Uint8Array, context: WrapContext): Promise<Uint8Array> {
  const core = await loadCore();
  const macKey = core.hkdfSha256(dek, new Uint8Array(0), INFO, 32);
  try {
    return core.hmacSha256(macKey, encodeWrapContext(context));
  } finally {
    macKey.fill(0);
  }
}

/**
 * Checks an unwrapped DEK against its binding tag; on a mismatch wipes the DEK and throws.
 * @throws AuthenticationError (reason 'wrong-context')
 */
export async function checkBinding(dek: Uint8Array, context: WrapContext, tag: Uint8Array): Promise<Uint8Array> {
  const expected = await bindingTag(dek, context);
  if (!sameBytes(expected, tag)) {
    dek.fill(0);
    throw new AuthenticationError('the DEK was wrapped under another context (binding tag mismatch)', { reason: 'wrong-context' });
  }
  return dek;
}

/** blob || tag, the layout every binding-tag provider stores. */
export function appendTag(blob: Uint8Array, tag: Uint8Array): Uint8Array {
  const out = new Uint8Array(blob.length + tag.length);
  out.set(blob, 0);
  out.set(tag, blob.length);
  return out;
}

/** Splits blob || tag; undefined if too short to hold a tag. */
export function splitTag(bytes: Uint8Array): { blob: Uint8Array; tag: Uint8Array } | undefined {
  if (bytes.length <= BINDING_TAG_BYTES) return undefined;
  return { blob: bytes.subarray(0, bytes.length - BINDING_TAG_BYTES), tag: bytes.subarray(bytes.length - BINDING_TAG_BYTES) };
}
