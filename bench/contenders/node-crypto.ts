/**
 * node:crypto (OpenSSL with AES-NI, Node only), the baseline a Node service would write: a fresh
 * createCipheriv('aes-256-gcm') per record, and hkdfSync per derivation. hkdfSync takes the IKM
 * and salt (there is no expand-only call), so it does extract + expand each time.
 */
import { createCipheriv, hkdfSync } from 'node:crypto';
import { DERIVED_BYTES } from '../workloads.js';
import type { Contender } from './contender.js';
import { listOutputs } from './contender.js';

export function nodeCryptoContender(): Contender {
  return {
    name: 'node:crypto',
    hkdfNote: 'extract + expand per call',
    async sealer(key) {
      return async (d) => {
        const out: Uint8Array[] = new Array(d.records.length);
        for (let i = 0; i < d.records.length; i++) {
          const cipher = createCipheriv('aes-256-gcm', key, d.ivList[i]!);
          const body = cipher.update(d.records[i]!);
          const last = cipher.final();
          out[i] = Buffer.concat([body, last, cipher.getAuthTag()]);
        }
        return listOutputs(out);
      };
    },
    async deriver(data) {
      return async (d) => {
        const out: Uint8Array[] = new Array(d.infos.length);
        for (let i = 0; i < d.infos.length; i++) out[i] = new Uint8Array(hkdfSync('sha256', data.ikm, data.salt, d.infos[i]!, DERIVED_BYTES));
        return listOutputs(out);
      };
    },
  };
}
