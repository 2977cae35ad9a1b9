/**
 * node:crypto (OpenSSL, AES-NI) as a cipher backend, Node only. Synchronous calls of a few
 * microseconds each, where Node's WebCrypto pays ~85 µs per call (shared/notes). Loaded with a
 * dynamic import so browser bundles never reach for node:crypto.
 */
import { NotSupportedError } from '../errors.js';
import type { CipherBackend, OpenedBatch } from './types.js';
import { itemAt } from './_pack.js';

/** The part of node:crypto this backend uses, typed here because the build has no Node types. */
interface GcmCipher {
  setAAD(aad: Uint8Array): unknown;
  update(data: Uint8Array): Uint8Array;
  final(): Uint8Array;
}
interface NodeCrypto {
  createHash(algorithm: 'sha256'): { update(data: Uint8Array): { digest(): Uint8Array } };
  hkdfSync(digest: 'sha256', ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): ArrayBuffer;
  createCipheriv(algorithm: 'aes-256-gcm', key: Uint8Array, iv: Uint8Array): GcmCipher & { getAuthTag(): Uint8Array };
  createDecipheriv(algorithm: 'aes-256-gcm', key: Uint8Array, iv: Uint8Array): GcmCipher & { setAuthTag(tag: Uint8Array): unknown };
}

export async function nodeBackend(): Promise<CipherBackend> {
  let nc: NodeCrypto;
  try {
    const specifier = 'node:crypto';
    nc = (await import(/* @vite-ignore */ specifier)) as NodeCrypto;
  } catch (err) {
    throw new NotSupportedError("backend 'node' needs Node's node:crypto; use 'wasm' or 'webcrypto' here", { cause: err });
  }
  return {
    name: 'node',
    async sha256(data) {
      return new Uint8Array(nc.createHash('sha256').update(data).digest());
    },
    async hkdfSha256(ikm, salt, info, length) {
      return new Uint8Array(nc.hkdfSync('sha256', ikm, salt, info, length));
    },
    async sealInto(key, ivs, plaintexts, aads, outs) {
      for (let i = 0; i < outs.length; i++) {
        const out = outs[i]!;
        const cipher = nc.createCipheriv('aes-256-gcm', key, ivs.subarray(12 * i, 12 * i + 12));
        cipher.setAAD(itemAt(aads, i));
        const head = cipher.update(itemAt(plaintexts, i));
        out.set(head, 0);
        const tail = cipher.final();
        out.set(tail, head.length);
        out.set(cipher.getAuthTag(), head.length + tail.length);
      }
    },
    async open(key, ivs, sealed, aads): Promise<OpenedBatch> {
      return sealed.map((record, i) => {
        if (record.length < 16) return null;
        const decipher = nc.createDecipheriv('aes-256-gcm', key, ivs.subarray(12 * i, 12 * i + 12));
        decipher.setAAD(itemAt(aads, i));
        decipher.setAuthTag(record.subarray(record.length - 16));
        const body = decipher.update(record.subarray(0, record.length - 16));
        try {
          const tail = decipher.final();
          if (tail.length === 0) return body;
          const whole = new Uint8Array(body.length + tail.length);
          whole.set(body, 0);
          whole.set(tail, body.length);
          return whole;
        } catch {
          body.fill(0); // unauthenticated plaintext never leaves this function
          return null;
        }
      });
    },
  };
}
