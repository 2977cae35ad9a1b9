/**
 * Paul Miller's audited pure-JS libraries, the choice of a user who wants one implementation in
 * every runtime without WebAssembly: @noble/ciphers `gcm` per record and @noble/hashes HKDF-Expand
 * per derivation (expand-only from the PRK, the same work vecseal's batch does).
 *
 * They live in bench/thirdparty (their own lockfile) and are loaded with a dynamic import of a URL
 * relative to this file, which resolves the same under tsx (file:) and under Vite (/@fs/). Not a
 * static import: the typecheck of a fresh clone must pass before bench/thirdparty is installed, and
 * Node must install it before loading. The few signatures used are declared here for that reason.
 */
import { DERIVED_BYTES } from '../workloads.js';
import type { Contender } from './contender.js';
import { listOutputs } from './contender.js';

interface NobleCiphersAes {
  gcm(key: Uint8Array, nonce: Uint8Array, aad?: Uint8Array): { encrypt(plaintext: Uint8Array): Uint8Array };
}
interface NobleHashesHkdf {
  expand(hash: unknown, prk: Uint8Array, info: Uint8Array, length: number): Uint8Array;
}
interface NobleHashesSha2 {
  sha256: unknown;
}

function load<T>(path: string): Promise<T> {
  return import(/* @vite-ignore */ new URL(path, import.meta.url).href) as Promise<T>;
}

/** @noble/ciphers for the sealing workloads and @noble/hashes for HKDF. */
export async function nobleContenders(): Promise<Contender[]> {
  const [{ gcm }, { expand }, { sha256 }] = await Promise.all([
    load<NobleCiphersAes>('../thirdparty/node_modules/@noble/ciphers/aes.js'),
    load<NobleHashesHkdf>('../thirdparty/node_modules/@noble/hashes/hkdf.js'),
    load<NobleHashesSha2>('../thirdparty/node_modules/@noble/hashes/sha2.js'),
  ]);
  const ciphers: Contender = {
    name: '@noble/ciphers',
    async sealer(key) {
      return async (d) => {
        const out: Uint8Array[] = new Array(d.records.length);
        for (let i = 0; i < d.records.length; i++) out[i] = gcm(key, d.ivList[i]!).encrypt(d.records[i]!);
        return listOutputs(out);
      };
    },
  };
  const hashes: Contender = {
    name: '@noble/hashes',
    async deriver() {
      return async (d) => {
        const out: Uint8Array[] = new Array(d.infos.length);
        for (let i = 0; i < d.infos.length; i++) out[i] = expand(sha256, d.prk, d.infos[i]!, DERIVED_BYTES);
        return listOutputs(out);
      };
    },
  };
  return [ciphers, hashes];
}
