/**
 * Paul Miller's audited pure-JS libraries, the choice of a user who wants one implementation in
 * every runtime without WebAssembly: @noble/ciphers `gcm` per record and @noble/hashes HKDF-Expand
 * per derivation (expand-only from the PRK, the same work vecseal's batch does).
 *
 * They are installed in bench/thirdparty (their own lockfile) and imported by relative path, which
 * resolves the same under tsx and under Vite. Importing this module before that install fails, so
 * Node code loads it with a dynamic import after ensureThirdParty().
 */
import { gcm } from '../thirdparty/node_modules/@noble/ciphers/aes.js';
import { expand } from '../thirdparty/node_modules/@noble/hashes/hkdf.js';
import { sha256 } from '../thirdparty/node_modules/@noble/hashes/sha2.js';
import { DERIVED_BYTES } from '../workloads.js';
import type { Contender } from './contender.js';
import { listOutputs } from './contender.js';

export function nobleContender(): Contender {
  return {
    name: '@noble/ciphers',
    async sealer(key) {
      return async (d) => {
        const out: Uint8Array[] = new Array(d.records.length);
        for (let i = 0; i < d.records.length; i++) out[i] = gcm(key, d.ivList[i]!).encrypt(d.records[i]!);
        return listOutputs(out);
      };
    },
  };
}

export function nobleHashesContender(): Contender {
  return {
    name: '@noble/hashes',
    async deriver() {
      return async (d) => {
        const out: Uint8Array[] = new Array(d.infos.length);
        for (let i = 0; i < d.infos.length; i++) out[i] = expand(sha256, d.prk, d.infos[i]!, DERIVED_BYTES);
        return listOutputs(out);
      };
    },
  };
}
