/**
 * crypto.subtle as a cipher backend. It serves where WebAssembly is blocked (a CSP without
 * 'wasm-unsafe-eval') and, for large records, it is the fastest path in browsers: their AES-GCM uses
 * AES-NI/PCLMUL (constant-time hardware) and runs off the calling thread. One key import per batch
 * (the batch key is derived once), then all records in flight together.
 */
import { NotSupportedError } from '../errors.js';
import type { CipherBackend, OpenedBatch } from './types.js';
import { itemAt } from './_pack.js';

const TAG_BITS = 128;

/** The view itself (WebCrypto reads any view of an ArrayBuffer), or a copy when it lies on a
 * SharedArrayBuffer, which subtle calls refuse. */
function own(view: Uint8Array): Uint8Array<ArrayBuffer> {
  return view.buffer instanceof ArrayBuffer ? (view as Uint8Array<ArrayBuffer>) : new Uint8Array(view);
}

export function webCryptoBackend(subtle: SubtleCrypto | undefined = globalThis.crypto?.subtle): CipherBackend {
  if (!subtle) throw new NotSupportedError('WebCrypto (crypto.subtle) is not available here; it needs a secure context (https or localhost)');
  const importAes = (key: Uint8Array, usage: KeyUsage) => subtle.importKey('raw', own(key), { name: 'AES-GCM' }, false, [usage]);
  return {
    name: 'webcrypto',
    async sha256(data) {
      return new Uint8Array(await subtle.digest('SHA-256', own(data)));
    },
    async hkdfSha256(ikm, salt, info, length) {
      const base = await subtle.importKey('raw', own(ikm), 'HKDF', false, ['deriveBits']);
      const bits = await subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: own(salt), info: own(info) }, base, 8 * length);
      return new Uint8Array(bits);
    },
    async sealInto(key, ivs, plaintexts, aads, outs) {
      const aes = await importAes(key, 'encrypt');
      const count = outs.length;
      const jobs: Promise<void>[] = new Array(count);
      for (let i = 0; i < count; i++) {
        const params = { name: 'AES-GCM', iv: own(ivs.subarray(12 * i, 12 * i + 12)), additionalData: own(itemAt(aads, i)), tagLength: TAG_BITS };
        jobs[i] = subtle.encrypt(params, aes, own(itemAt(plaintexts, i))).then((ct) => outs[i]!.set(new Uint8Array(ct)));
      }
      await Promise.all(jobs);
    },
    async open(key, ivs, sealed, aads): Promise<OpenedBatch> {
      const aes = await importAes(key, 'decrypt');
      return Promise.all(
        sealed.map((record, i) =>
          subtle
            .decrypt({ name: 'AES-GCM', iv: own(ivs.subarray(12 * i, 12 * i + 12)), additionalData: own(itemAt(aads, i)), tagLength: TAG_BITS }, aes, own(record))
            .then(
              (pt) => new Uint8Array(pt),
              () => null, // OperationError: the tag did not verify (WebCrypto returns no plaintext)
            ),
        ),
      );
    },
  };
}
