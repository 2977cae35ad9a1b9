/**
 * node:crypto as a Node user would call it (Node only): one AES-256-GCM key, a random 12-byte nonce
 * and one `createCipheriv` per record, keeping nonce, ciphertext and tag.
 */
import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';
import { equalBytes } from './independent-open.js';
import type { E2eContender } from './contenders.js';

const BLOCK_RECORDS = 4096;

interface Out {
  iv: Uint8Array;
  ct: Buffer;
  tag: Buffer;
}

export function nodeCryptoContender(): E2eContender {
  const key = randomFillSync(new Uint8Array(32));
  return {
    key: 'node-crypto',
    family: 'node-crypto',
    label: 'node:crypto createCipheriv',
    variant: 'per record, synchronous',
    datasets: ['768d', '256b'],
    async run(d) {
      const out: Out[] = new Array(d.count);
      let block = new Uint8Array(0);
      for (let i = 0; i < d.count; i++) {
        if (i % BLOCK_RECORDS === 0) block = randomFillSync(new Uint8Array(12 * BLOCK_RECORDS));
        const at = (i % BLOCK_RECORDS) * 12;
        const iv = block.subarray(at, at + 12);
        const cipher = createCipheriv('aes-256-gcm', key, iv);
        const ct = cipher.update(d.vectors[i]!);
        cipher.final();
        out[i] = { iv, ct, tag: cipher.getAuthTag() };
      }
      return async (indices) => {
        for (const i of indices) {
          const o = out[i]!;
          const decipher = createDecipheriv('aes-256-gcm', key, o.iv);
          decipher.setAuthTag(o.tag);
          let pt: Buffer;
          try {
            pt = Buffer.concat([decipher.update(o.ct), decipher.final()]);
          } catch {
            throw new Error(`cross-check failed: node:crypto on ${d.title}, record ${i}: did not decrypt; refusing to time it`);
          }
          if (!equalBytes(pt, d.bytes[i]!)) throw new Error(`cross-check failed: node:crypto on ${d.title}, record ${i}: decrypts to other bytes`);
        }
      };
    },
  };
}
