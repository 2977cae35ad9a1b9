/**
 * `vecseal/core`: constant-time AES-GCM, SHA-256, HMAC-SHA256 and HKDF-SHA256 from the embedded
 * WebAssembly module, synchronous, on the calling thread, with batch forms that process many
 * records per call.
 *
 * @example
 * import { loadCore } from 'vecseal/core';
 * const core = await loadCore();
 * const sealed = core.aesGcmEncrypt(key, iv, plaintext, aad);
 * const opened = core.aesGcmDecrypt(key, iv, sealed, aad);
 */
import { NotSupportedError } from '../errors.js';
import { WasmCore } from './_core.js';
import { instantiateCore } from './_instance.js';
import type { Core } from './types.js';

export type { BatchKeying, ByteList, Core, OpenBatchInput, OpenBatchResult, PackedBytes, SealBatchInput } from './types.js';
export { packBytes, segment, unpackBytes } from './_bytes.js';
export { HASH_BYTES, HKDF_MAX_BYTES, IV_BYTES, KEY_BYTES, TAG_BYTES } from './_core.js';
export {
  AuthenticationError,
  FormatError,
  InvalidInputError,
  KeyStateError,
  NotSupportedError,
  PolicyError,
  ProviderError,
  VecsealError,
} from '../errors.js';
export type { ErrorCode } from '../errors.js';

let loading: Promise<Core> | undefined;

/**
 * Instantiates the core once per realm (page, worker or process) and returns it; later calls
 * return the same instance.
 * @returns the synchronous core
 * @throws NotSupportedError if WebAssembly or WebAssembly SIMD is unavailable, or a
 *   Content-Security-Policy blocks WebAssembly compilation (allow 'wasm-unsafe-eval')
 */
export function loadCore(): Promise<Core> {
  loading ??= create().catch((err: unknown) => {
    loading = undefined; // a later call may succeed (e.g. after a CSP change in a new realm)
    throw err;
  });
  return loading;
}

async function create(): Promise<Core> {
  if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) {
    throw new NotSupportedError('vecseal core needs a little-endian platform');
  }
  return new WasmCore(await instantiateCore());
}
