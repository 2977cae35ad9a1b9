/**
 * Differential tests against node:crypto (OpenSSL): random keys, IVs, AADs and lengths 0..65536,
 * unaligned subarray inputs, batches of 0, 1 and odd counts. Node only; the portable suite checks
 * the same against WebCrypto in every runtime.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { instantiateCore } from '../../src/core/_instance.js';
import { loadCore, type Core } from '../../src/core/index.js';
import { Rng } from '../_assert.js';

function nodeSeal(key: Uint8Array, iv: Uint8Array, pt: Uint8Array, aad: Uint8Array): Buffer {
  const c = createCipheriv(key.length === 16 ? 'aes-128-gcm' : 'aes-256-gcm', key, iv);
  c.setAAD(aad);
  return Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]);
}

describe('vecseal/core vs node:crypto', () => {
  let core: Core;
  beforeAll(async () => {
    core = await loadCore();
  });

  it('the bitsliced AES block cipher alone (ECB export) matches aes-128-ecb and aes-256-ecb', async () => {
    const x = await instantiateCore();
    const rng = new Rng(0xaee5);
    const base = x.heapBase();
    x.memory.grow(1);
    for (let t = 0; t < 50; t++) {
      const keyLen = t % 2 ? 16 : 32;
      const key = rng.bytes(keyLen);
      const blocks = 8 * (1 + rng.int(8));
      const pt = rng.bytes(16 * blocks);
      const mem = new Uint8Array(x.memory.buffer);
      mem.set(key, base);
      mem.set(pt, base + 64);
      expect(x.aesEcbEncrypt(base, keyLen, base + 64, base + 64, blocks)).toBe(0);
      const c = createCipheriv(keyLen === 16 ? 'aes-128-ecb' : 'aes-256-ecb', key, null).setAutoPadding(false);
      expect(Buffer.from(mem.subarray(base + 64, base + 64 + pt.length)).equals(Buffer.concat([c.update(pt), c.final()])), `case ${t}`).toBe(true);
    }
    expect(x.aesEcbEncrypt(base, 24, base + 64, base + 64, 8)).toBe(-1);
    expect(x.aesEcbEncrypt(base, 32, base + 64, base + 64, 7)).toBe(-2);
  });

  it('AES-GCM encrypt and decrypt match on 200 random cases up to 65536 bytes', () => {
    const rng = new Rng(0xc0ffee);
    for (let i = 0; i < 200; i++) {
      const keyLen = i % 2 ? 16 : 32;
      const len = i < 10 ? [0, 1, 16, 65535, 65536, 127, 128, 129, 4096, 4097][i]! : rng.int(65537);
      const key = rng.unaligned(keyLen);
      const iv = rng.unaligned(12);
      const aad = rng.unaligned(rng.int(64));
      const pt = rng.unaligned(len);
      const expected = nodeSeal(key, iv, pt, aad);
      expect(Buffer.from(core.aesGcmEncrypt(key, iv, pt, aad)).equals(expected), `case ${i} len ${len}`).toBe(true);
      expect(Buffer.from(core.aesGcmDecrypt(key, iv, expected, aad)).equals(Buffer.from(pt)), `case ${i} decrypt`).toBe(true);
    }
  });

  it('node:crypto opens what vecseal seals, and both reject the same tampering', () => {
    const key = randomBytes(32);
    const iv = randomBytes(12);
    const pt = randomBytes(3072);
    const sealed = core.aesGcmEncrypt(key, iv, pt);
    const d = createDecipheriv('aes-256-gcm', key, iv);
    d.setAuthTag(sealed.subarray(3072));
    expect(Buffer.concat([d.update(sealed.subarray(0, 3072)), d.final()]).equals(pt)).toBe(true);
    sealed[100]! ^= 4;
    const d2 = createDecipheriv('aes-256-gcm', key, iv);
    d2.setAuthTag(sealed.subarray(3072));
    d2.update(sealed.subarray(0, 3072));
    expect(() => d2.final()).toThrow();
    expect(() => core.aesGcmDecrypt(key, iv, sealed)).toThrow(expect.objectContaining({ code: 'AUTHENTICATION_FAILED' }));
  });

  it('sealBatch matches node:crypto for batches of 0, 1, 3, 99 and 1001 records', () => {
    const rng = new Rng(0xba7c4);
    for (const count of [0, 1, 3, 99, 1001]) {
      const key = rng.bytes(32);
      const ivs = rng.bytes(12 * count);
      const plaintexts = Array.from({ length: count }, () => rng.unaligned(rng.int(3100)));
      const aad = rng.bytes(24);
      const sealed = core.sealBatch({ key, ivs, plaintexts, aad });
      for (let i = 0; i < count; i++) {
        const got = Buffer.from(sealed.bytes.subarray(sealed.offsets[i]!, sealed.offsets[i + 1]!));
        expect(got.equals(nodeSeal(key, ivs.subarray(12 * i, 12 * i + 12), plaintexts[i]!, aad)), `count ${count} record ${i}`).toBe(true);
      }
      const opened = core.openBatch({ key, ivs, ciphertexts: sealed, aad });
      expect(opened.rejected).toBe(0);
      expect(opened.ok.every((v) => v === 1)).toBe(true);
    }
  });

  it('HKDF, HMAC and SHA-256 match node:crypto on random inputs', () => {
    const rng = new Rng(0x4b4df);
    for (let i = 0; i < 100; i++) {
      const ikm = rng.unaligned(1 + rng.int(100));
      const salt = rng.unaligned(rng.int(80));
      const info = rng.unaligned(rng.int(200));
      const len = 1 + rng.int(1000);
      expect(Buffer.from(core.hkdfSha256(ikm, salt, info, len)).equals(Buffer.from(hkdfSync('sha256', ikm, salt, info, len))), `hkdf ${i}`).toBe(true);
      const msg = rng.unaligned(rng.int(5000));
      expect(Buffer.from(core.hmacSha256(ikm, msg)).equals(createHmac('sha256', ikm).update(msg).digest()), `hmac ${i}`).toBe(true);
      expect(Buffer.from(core.sha256(msg)).equals(createHash('sha256').update(msg).digest()), `sha ${i}`).toBe(true);
    }
  });

  it('hkdfExpandBatch of 5001 infos matches hkdfSync per info', () => {
    const rng = new Rng(0x6a7c4);
    const ikm = rng.bytes(32);
    const salt = rng.bytes(16);
    const prk = core.hkdfExtract(ikm, salt);
    const infos = Array.from({ length: 5001 }, (_, i) => new TextEncoder().encode(`tenant-7/collection-3/record-${i}`));
    const out = core.hkdfExpandBatch(prk, infos, 32);
    for (let i = 0; i < infos.length; i += 50) {
      expect(Buffer.from(out.subarray(32 * i, 32 * i + 32)).equals(Buffer.from(hkdfSync('sha256', ikm, salt, infos[i]!, 32))), `info ${i}`).toBe(true);
    }
  });
});
