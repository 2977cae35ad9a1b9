/**
 * A short self-check of the WASM core in this process before anything is sealed: AES-256-GCM
 * (SP 800-38D) round trip, a flipped bit and a wrong context (AAD) rejected, byte-for-byte agreement
 * with node:crypto both ways, the batch form equal to one-shot calls, HKDF-SHA256 (RFC 5869) equal
 * to node:crypto's.
 */
import { createCipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { loadCore } from '../../src/core/index.js';
import { check } from './fail.js';
import { ok } from './out.js';

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function rejects(fn: () => unknown, code: string): boolean {
  try {
    fn();
    return false;
  } catch (err) {
    return (err as { code?: unknown }).code === code;
  }
}

function pass(condition: boolean, what: string): void {
  check(condition, `self-check: ${what}`);
  ok(what);
}

export async function selfCheck(): Promise<void> {
  const core = await loadCore();
  const key = randomBytes(32);
  const iv = randomBytes(12);
  const aad = new TextEncoder().encode('tenant=acme;collection=glove;record=42');
  const record = randomBytes(400 + 7); // a 100-d float32 embedding and a word
  const sealed = core.aesGcmEncrypt(key, iv, record, aad);
  const tampered = sealed.slice();
  tampered[100]! ^= 0x01;
  pass(
    same(core.aesGcmDecrypt(key, iv, sealed, aad), record) &&
      rejects(() => core.aesGcmDecrypt(key, iv, tampered, aad), 'AUTHENTICATION_FAILED') &&
      rejects(() => core.aesGcmDecrypt(key, iv, sealed, new TextEncoder().encode('tenant=globex;collection=glove;record=42')), 'AUTHENTICATION_FAILED'),
    'AES-256-GCM in WASM: round trip; a flipped bit and another tenant\'s context are rejected',
  );
  const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(aad);
  pass(same(sealed, Buffer.concat([cipher.update(record), cipher.final(), cipher.getAuthTag()])), 'AES-256-GCM agrees with node:crypto byte for byte');
  const records = Array.from({ length: 33 }, (_, i) => randomBytes(i * 37));
  const ivs = randomBytes(records.length * 12);
  const batch = core.sealBatch({ key, ivs, plaintexts: records, aad });
  pass(
    records.every((r, i) => same(batch.bytes.subarray(batch.offsets[i]!, batch.offsets[i + 1]!), core.aesGcmEncrypt(key, ivs.subarray(i * 12, i * 12 + 12), r, aad))),
    'sealBatch of 33 records (0..1,184 bytes) equals 33 one-shot calls',
  );
  const ikm = randomBytes(32);
  const salt = randomBytes(32);
  const infos = Array.from({ length: 16 }, (_, i) => new TextEncoder().encode(`vecseal/record/${i}`));
  const derived = core.hkdfExpandBatch(core.hkdfExtract(ikm, salt), infos, 32);
  pass(
    infos.every((info, i) => same(derived.subarray(i * 32, i * 32 + 32), new Uint8Array(hkdfSync('sha256', ikm, salt, info, 32)))),
    'HKDF-SHA256 (RFC 5869) of 16 infos equals node:crypto hkdfSync',
  );
}
