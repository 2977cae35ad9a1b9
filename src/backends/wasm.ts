/** The constant-time WebAssembly core as a cipher backend (runs on the calling thread). */
import { segment, type Core } from '../core/index.js';
import type { CipherBackend, OpenedBatch } from './types.js';

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
      // A rejected record's segment holds only zeros in the core's result; it becomes null here.
      return Array.from(opened.ok, (ok, i) => (ok ? segment(opened.plaintexts, i) : null));
    },
  };
}
