/**
 * Picking a cipher backend. `auto` uses the constant-time WASM core for small records, where its
 * batching beats one WebCrypto call per record, and the platform's AES-NI (node:crypto in Node,
 * crypto.subtle in browsers) for large ones, where hardware AES outruns bitsliced AES; where
 * WebAssembly is blocked it falls back to crypto.subtle for everything.
 */
import { loadCore } from '../core/index.js';
import { InvalidInputError, NotSupportedError } from '../errors.js';
import { nodeBackend } from './node.js';
import { BACKEND_CHOICES, type BackendChoice, type CipherBackend } from './types.js';
import { wasmBackend } from './wasm.js';
import { webCryptoBackend } from './webcrypto.js';

export type { BackendChoice, BackendName, CipherBackend, OpenedBatch } from './types.js';
export { BACKEND_CHOICES } from './types.js';
export { wasmBackend, webCryptoBackend, nodeBackend };

/** Average plaintext bytes per record from which `auto` hands AES-GCM to the platform. */
export const AUTO_LARGE_RECORD_BYTES = 1024;

export function isNodeRuntime(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string' && typeof (globalThis as { window?: unknown }).window === 'undefined';
}

/**
 * Chooses per batch: `small` below `threshold` average bytes per record, `large` from it on.
 * Hashing and key derivation (once per batch) stay with `small`.
 */
export function sizeSwitchingBackend(small: CipherBackend, large: CipherBackend, threshold = AUTO_LARGE_RECORD_BYTES): CipherBackend {
  const pick = (bytes: number, count: number) => (count > 0 && bytes / count >= threshold ? large : small);
  return {
    name: small.name,
    sha256: (d) => small.sha256(d),
    hkdfSha256: (ikm, salt, info, length) => small.hkdfSha256(ikm, salt, info, length),
    sealInto: (key, ivs, pts, aads, outs) => pick(outs.reduce((n, o) => n + o.length - 16, 0), outs.length).sealInto(key, ivs, pts, aads, outs),
    open: (key, ivs, sealed, aads) => pick(sealed.reduce((n, r) => n + r.length, 0), sealed.length).open(key, ivs, sealed, aads),
  };
}

/**
 * The backend for a choice in this runtime.
 * @throws InvalidInputError for an unknown choice; NotSupportedError if the runtime cannot run it
 */
export async function loadBackend(choice: BackendChoice = 'auto'): Promise<CipherBackend> {
  if (!BACKEND_CHOICES.includes(choice)) throw new InvalidInputError(`backend must be one of ${BACKEND_CHOICES.join(', ')}; got ${String(choice)}`);
  switch (choice) {
    case 'wasm':
      return wasmBackend(await loadCore());
    case 'webcrypto':
      return webCryptoBackend();
    case 'node':
      if (!isNodeRuntime()) throw new NotSupportedError("backend 'node' runs only in Node; use 'auto', 'wasm' or 'webcrypto'");
      return nodeBackend();
    case 'auto': {
      const platform = isNodeRuntime() ? await nodeBackend() : webCryptoBackend();
      let core;
      try {
        core = await loadCore();
      } catch (err) {
        if (err instanceof NotSupportedError) return platform; // WebAssembly blocked or missing
        throw err;
      }
      return sizeSwitchingBackend(wasmBackend(core), platform);
    }
  }
}
