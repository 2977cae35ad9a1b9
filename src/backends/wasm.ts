/** The constant-time WebAssembly core as a cipher backend (runs on the calling thread). */
import type { Core } from '../core/index.js';
import type { CipherBackend, OpenedBatch } from './types.js';
import { packSegments } from './_pack.js';

export function wasmBackend(core: Core): CipherBackend {
  return {
    name: 'wasm',
    sha256: async (data) => core.sha256(data),
    hkdfSha256: async (ikm, salt, info, length) => core.hkdfSha256(ikm, salt, info, length),
    async sealInto(key, ivs, plaintexts, aads, outs) {
      const sealed = core.sealBatch({ key, ivs, plaintexts, aads });
      for (let i = 0; i < outs.length; i++) outs[i]!.set(sealed.bytes.subarray(sealed.offsets[i]!, sealed.offsets[i + 1]!));
    },
    async open(key, ivs, sealed, aads): Promise<OpenedBatch> {
      const opened = core.openBatch({ key, ivs, ciphertexts: sealed, aads });
      // Rejected records keep zero-filled segments in the core's result; drop them so every backend
      // returns the same shape (an empty segment for a rejected record).
      if (opened.rejected === 0) return { plaintexts: opened.plaintexts, ok: opened.ok };
      const { bytes, offsets } = opened.plaintexts;
      const parts = Array.from(opened.ok, (ok, i) => (ok ? bytes.subarray(offsets[i]!, offsets[i + 1]!) : null));
      return { plaintexts: packSegments(parts), ok: opened.ok };
    },
  };
}
