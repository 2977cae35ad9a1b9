/**
 * The core conformance suite, written once and run in every runtime: Node, the page of Chromium,
 * Firefox and WebKit, and a module Worker in each of them (see core.test.ts and
 * core-worker.browser.test.ts). It checks vecseal/core against Wycheproof and, on random inputs,
 * against the runtime's own WebCrypto.
 */
import { packBytes, type Core } from '../../src/core/index.js';
import { linearMemorySnapshot } from '../../src/core/_core.js';
import { assert, assertBytes, assertThrowsCode, bytesEqual, fromHex, hex, Rng } from '../_assert.js';
import aesGcmVectors from '../vectors/wycheproof/aes_gcm_test.json';
import hkdfVectors from '../vectors/wycheproof/hkdf_sha256_test.json';
import hmacVectors from '../vectors/wycheproof/hmac_sha256_test.json';

export interface CoreCase {
  name: string;
  run(core: Core): Promise<void> | void;
}

const subtle = globalThis.crypto.subtle;

interface AeadTest {
  tcId: number;
  key: string;
  iv: string;
  aad: string;
  msg: string;
  ct: string;
  tag: string;
  result: string;
  flags: string[];
}
interface AeadGroup {
  keySize: number;
  ivSize: number;
  tagSize: number;
  tests: AeadTest[];
}

const aeadGroups = aesGcmVectors.testGroups as AeadGroup[];

async function webcryptoGcmEncrypt(key: Uint8Array, iv: Uint8Array, pt: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
  const k = await subtle.importKey('raw', key as BufferSource, 'AES-GCM', false, ['encrypt']);
  return new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv: iv as BufferSource, additionalData: aad as BufferSource, tagLength: 128 }, k, pt as BufferSource));
}

async function webcryptoHkdf(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Promise<Uint8Array> {
  const k = await subtle.importKey('raw', ikm as BufferSource, 'HKDF', false, ['deriveBits']);
  return new Uint8Array(await subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: salt as BufferSource, info: info as BufferSource }, k, length * 8));
}

async function webcryptoHmac(key: Uint8Array, msg: Uint8Array): Promise<Uint8Array> {
  // WebCrypto refuses zero-length HMAC keys; HMAC pads keys with zeros, so one zero byte is equivalent.
  const k = await subtle.importKey('raw', (key.length ? key : new Uint8Array(1)) as BufferSource, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await subtle.sign('HMAC', k, msg as BufferSource));
}

/** Lengths that cross every boundary the implementation has: blocks, 8-block passes, slices, pieces. */
const EDGE_LENGTHS = [0, 1, 15, 16, 17, 31, 32, 95, 96, 97, 111, 112, 127, 128, 129, 255, 256, 1023, 3072, 4095, 4096, 4097, 8191, 65535, 65536];

export const coreCases: CoreCase[] = [
  {
    name: 'Wycheproof/aes_gcm_test.json: valid 96-bit-IV cases encrypt and decrypt, invalid ones are rejected',
    run(core) {
      let valid = 0;
      let invalid = 0;
      for (const g of aeadGroups) {
        if (g.ivSize !== 96 || g.keySize === 192) continue;
        for (const t of g.tests) {
          const label = `Wycheproof/aes_gcm_test.json/${t.tcId}`;
          const key = fromHex(t.key);
          const iv = fromHex(t.iv);
          const aad = fromHex(t.aad);
          const sealed = fromHex(t.ct + t.tag);
          if (t.result === 'valid') {
            assertBytes(core.aesGcmEncrypt(key, iv, fromHex(t.msg), aad), sealed, `${label} encrypt`);
            assertBytes(core.aesGcmDecrypt(key, iv, sealed, aad), fromHex(t.msg), `${label} decrypt`);
            valid++;
          } else {
            const code = sealed.length < 16 ? 'INVALID_INPUT' : 'AUTHENTICATION_FAILED';
            assertThrowsCode(() => core.aesGcmDecrypt(key, iv, sealed, aad), code, label);
            invalid++;
          }
        }
      }
      assert(valid === 79 && invalid === 54, `expected 79 valid and 54 invalid 96-bit cases, ran ${valid} and ${invalid}`);
    },
  },
  {
    name: 'Wycheproof/aes_gcm_test.json: groups outside the supported set (IV not 96 bits, 192-bit keys) are rejected, never accepted',
    run(core) {
      let rejected = 0;
      for (const g of aeadGroups) {
        if (g.ivSize === 96 && g.keySize !== 192) continue;
        for (const t of g.tests) {
          const label = `Wycheproof/aes_gcm_test.json/${t.tcId} (key ${g.keySize} bits, iv ${g.ivSize} bits)`;
          const key = fromHex(t.key);
          const iv = fromHex(t.iv);
          assertThrowsCode(() => core.aesGcmEncrypt(key, iv, fromHex(t.msg), fromHex(t.aad)), 'INVALID_INPUT', `${label} encrypt`);
          assertThrowsCode(() => core.aesGcmDecrypt(key, iv, fromHex(t.ct + t.tag), fromHex(t.aad)), 'INVALID_INPUT', `${label} decrypt`);
          rejected++;
        }
      }
      assert(rejected === 316 - 133, `expected 183 unsupported-parameter cases, ran ${rejected}`);
    },
  },
  {
    name: 'Wycheproof/aes_gcm_test.json: the same cases through openBatch with per-record keys',
    run(core) {
      for (const keySize of [128, 256]) {
        const tests = aeadGroups.filter((g) => g.ivSize === 96 && g.keySize === keySize).flatMap((g) => g.tests);
        const res = core.openBatch({
          keys: tests.map((t) => fromHex(t.key)),
          ivs: tests.map((t) => fromHex(t.iv)),
          aads: tests.map((t) => fromHex(t.aad)),
          ciphertexts: tests.map((t) => fromHex(t.ct + t.tag)),
        });
        tests.forEach((t, i) => {
          const label = `Wycheproof/aes_gcm_test.json/${t.tcId} (batch)`;
          const pt = res.plaintexts.bytes.subarray(res.plaintexts.offsets[i]!, res.plaintexts.offsets[i + 1]!);
          if (t.result === 'valid') {
            assert(res.ok[i] === 1, `${label}: valid record rejected`);
            assertBytes(pt, fromHex(t.msg), label);
          } else {
            assert(res.ok[i] === 0, `${label}: invalid record accepted`);
            assert(pt.every((b) => b === 0), `${label}: rejected record returned non-zero bytes`);
          }
        });
        const expectedRejected = tests.filter((t) => t.result !== 'valid').length;
        assert(res.rejected === expectedRejected, `rejected count ${res.rejected}, expected ${expectedRejected}`);
      }
    },
  },
  {
    name: 'Wycheproof/hkdf_sha256_test.json: valid cases match, oversized outputs are rejected',
    run(core) {
      let n = 0;
      for (const g of hkdfVectors.testGroups) {
        for (const t of g.tests) {
          const label = `Wycheproof/hkdf_sha256_test.json/${t.tcId}`;
          const args = [fromHex(t.ikm), fromHex(t.salt), fromHex(t.info)] as const;
          if (t.result === 'valid') {
            assertBytes(core.hkdfSha256(...args, t.size), fromHex(t.okm), label);
          } else {
            assertThrowsCode(() => core.hkdfSha256(...args, t.size), 'INVALID_INPUT', label);
          }
          n++;
        }
      }
      assert(n === hkdfVectors.numberOfTests, `ran ${n} of ${hkdfVectors.numberOfTests}`);
    },
  },
  {
    name: 'Wycheproof/hmac_sha256_test.json: truncated MACs match valid tags and differ from invalid ones',
    run(core) {
      let n = 0;
      for (const g of hmacVectors.testGroups) {
        for (const t of g.tests) {
          const label = `Wycheproof/hmac_sha256_test.json/${t.tcId}`;
          const mac = core.hmacSha256(fromHex(t.key), fromHex(t.msg)).subarray(0, g.tagSize / 8);
          const same = bytesEqual(mac, fromHex(t.tag));
          assert(same === (t.result === 'valid'), `${label}: ${t.result} case ${same ? 'matched' : 'did not match'}`);
          n++;
        }
      }
      assert(n === hmacVectors.numberOfTests, `ran ${n} of ${hmacVectors.numberOfTests}`);
    },
  },
  {
    name: 'AES-GCM equals WebCrypto on random keys, IVs, AADs and edge lengths 0..65536, unaligned inputs',
    async run(core) {
      const rng = new Rng(0x5eed01);
      const lengths = [...EDGE_LENGTHS, ...Array.from({ length: 24 }, () => rng.int(65537))];
      for (const len of lengths) {
        for (const keyLen of [16, 32]) {
          const key = rng.unaligned(keyLen);
          const iv = rng.unaligned(12);
          const aad = rng.unaligned(rng.int(3) === 0 ? 0 : rng.int(100));
          const pt = rng.unaligned(len);
          const label = `len ${len}, key ${keyLen * 8}, aad ${aad.length}`;
          const expected = await webcryptoGcmEncrypt(key, iv, pt, aad);
          assertBytes(core.aesGcmEncrypt(key, iv, pt, aad), expected, `encrypt ${label}`);
          const sealed = rng.unaligned(expected.length);
          sealed.set(expected);
          assertBytes(core.aesGcmDecrypt(key, iv, sealed, aad), pt, `decrypt ${label}`);
        }
      }
    },
  },
  {
    name: 'AES-GCM rejects every single-bit flip of ciphertext, tag, IV and AAD, and truncation or extension',
    run(core) {
      const rng = new Rng(7);
      const key = rng.bytes(32);
      const iv = rng.bytes(12);
      const aad = rng.bytes(13);
      const pt = rng.bytes(45);
      const sealed = core.aesGcmEncrypt(key, iv, pt, aad);
      for (let i = 0; i < sealed.length * 8; i += 3) {
        const bad = sealed.slice();
        bad[i >> 3]! ^= 1 << (i & 7);
        assertThrowsCode(() => core.aesGcmDecrypt(key, iv, bad, aad), 'AUTHENTICATION_FAILED', `bit ${i} of sealed`);
      }
      for (let i = 0; i < 96; i += 5) {
        const badIv = iv.slice();
        badIv[i >> 3]! ^= 1 << (i & 7);
        assertThrowsCode(() => core.aesGcmDecrypt(key, badIv, sealed, aad), 'AUTHENTICATION_FAILED', `bit ${i} of iv`);
      }
      for (let i = 0; i < aad.length * 8; i += 7) {
        const badAad = aad.slice();
        badAad[i >> 3]! ^= 1 << (i & 7);
        assertThrowsCode(() => core.aesGcmDecrypt(key, iv, sealed, badAad), 'AUTHENTICATION_FAILED', `bit ${i} of aad`);
      }
      assertThrowsCode(() => core.aesGcmDecrypt(key, iv, sealed.subarray(0, sealed.length - 1), aad), 'AUTHENTICATION_FAILED', 'truncated by 1');
      assertThrowsCode(() => core.aesGcmDecrypt(key, iv, sealed.subarray(0, 15), aad), 'INVALID_INPUT', 'shorter than a tag');
      const extended = new Uint8Array(sealed.length + 1);
      extended.set(sealed);
      assertThrowsCode(() => core.aesGcmDecrypt(key, iv, extended, aad), 'AUTHENTICATION_FAILED', 'extended by 1');
      assertThrowsCode(() => core.aesGcmDecrypt(key, iv, sealed), 'AUTHENTICATION_FAILED', 'aad dropped');
      const otherKey = key.slice();
      otherKey[0]! ^= 0x80;
      assertThrowsCode(() => core.aesGcmDecrypt(otherKey, iv, sealed, aad), 'AUTHENTICATION_FAILED', 'wrong key');
    },
  },
  {
    name: 'HKDF, HMAC and SHA-256 equal WebCrypto on random inputs',
    async run(core) {
      const rng = new Rng(0x5eed02);
      for (let i = 0; i < 40; i++) {
        const ikm = rng.unaligned(rng.int(200));
        const salt = rng.unaligned(i % 5 === 0 ? 0 : rng.int(100));
        const info = rng.unaligned(rng.int(120));
        const len = i === 0 ? 8160 : 1 + rng.int(300);
        assertBytes(core.hkdfSha256(ikm, salt, info, len), await webcryptoHkdf(ikm, salt, info, len), `hkdf case ${i}`);
        const key = rng.unaligned([0, 1, 32, 63, 64, 65, 200][i % 7]!);
        const msg = rng.unaligned(EDGE_LENGTHS[i % EDGE_LENGTHS.length]!);
        assertBytes(core.hmacSha256(key, msg), await webcryptoHmac(key, msg), `hmac case ${i}`);
        assertBytes(core.sha256(msg), new Uint8Array(await subtle.digest('SHA-256', msg as BufferSource)), `sha256 case ${i}`);
      }
      // A message larger than a streaming piece (256 KiB) and a chunk (1 MiB) goes through the incremental path.
      const big = rng.bytes(2 * 1024 * 1024 + 33);
      assertBytes(core.sha256(big), new Uint8Array(await subtle.digest('SHA-256', big as BufferSource)), 'sha256 of 2 MiB');
      const hk = rng.bytes(32);
      assertBytes(core.hmacSha256(hk, big), await webcryptoHmac(hk, big), 'hmac of 2 MiB equals WebCrypto');
    },
  },
  {
    name: 'sealBatch equals WebCrypto per record for counts 0, 1, odd and large; shared and per-record keys; packed and array forms',
    async run(core) {
      const rng = new Rng(0x5eed03);
      for (const count of [0, 1, 7, 33, 301]) {
        for (const mode of ['shared-key-array', 'per-record-packed'] as const) {
          const lens = Array.from({ length: count }, (_, i) => (i === 0 ? 0 : rng.int(i % 10 === 0 ? 5000 : 300)));
          const plaintexts = lens.map((n) => rng.unaligned(n));
          const ivs = rng.bytes(12 * count);
          const aads = lens.map(() => rng.unaligned(rng.int(40)));
          const keyLen = mode === 'shared-key-array' ? 32 : 16;
          const keys = rng.bytes(keyLen * count);
          const key = rng.bytes(keyLen);
          const sealed =
            mode === 'shared-key-array'
              ? core.sealBatch({ key, ivs: Array.from({ length: count }, (_, i) => ivs.subarray(12 * i, 12 * i + 12)), plaintexts, aads })
              : core.sealBatch({ keys, ivs, plaintexts: packBytes(plaintexts), aads: packBytes(aads) });
          assert(sealed.offsets.length === count + 1, `${mode} ${count}: offsets length`);
          for (let i = 0; i < count; i++) {
            const k = mode === 'shared-key-array' ? key : keys.subarray(keyLen * i, keyLen * (i + 1));
            const expected = await webcryptoGcmEncrypt(k, ivs.subarray(12 * i, 12 * i + 12), plaintexts[i]!, aads[i]!);
            assertBytes(sealed.bytes.subarray(sealed.offsets[i]!, sealed.offsets[i + 1]!), expected, `${mode} count ${count} record ${i}`);
          }
          const opened =
            mode === 'shared-key-array'
              ? core.openBatch({ key, ivs, ciphertexts: sealed, aads })
              : core.openBatch({ keys: Array.from({ length: count }, (_, i) => keys.subarray(keyLen * i, keyLen * (i + 1))), ivs, ciphertexts: sealed, aads: packBytes(aads) });
          assert(opened.rejected === 0, `${mode} count ${count}: ${opened.rejected} rejected`);
          for (let i = 0; i < count; i++) {
            assertBytes(opened.plaintexts.bytes.subarray(opened.plaintexts.offsets[i]!, opened.plaintexts.offsets[i + 1]!), plaintexts[i]!, `${mode} open ${i}`);
          }
        }
      }
    },
  },
  {
    name: 'openBatch rejects only the tampered, swapped or truncated records and returns zeros for them',
    run(core) {
      const rng = new Rng(0x5eed04);
      const count = 9;
      const key = rng.bytes(32);
      const ivs = rng.bytes(12 * count);
      const plaintexts = Array.from({ length: count }, (_, i) => rng.bytes(20 + i * 50));
      const aads = plaintexts.map((_, i) => new TextEncoder().encode(`record-${i}`));
      const sealed = core.sealBatch({ key, ivs, plaintexts, aads });
      const records = Array.from({ length: count }, (_, i) => sealed.bytes.slice(sealed.offsets[i]!, sealed.offsets[i + 1]!));
      records[1]![3]! ^= 0x01; // flipped ciphertext bit
      records[3]![records[3]!.length - 1]! ^= 0x80; // flipped tag bit
      records[5] = records[5]!.subarray(0, 10); // truncated below a tag
      [records[6], records[7]] = [records[7]!, records[6]!]; // swapped rows: AAD and IV no longer match
      const res = core.openBatch({ key, ivs, ciphertexts: records, aads });
      const expectedOk = [1, 0, 1, 0, 1, 0, 0, 0, 1];
      assert(hex(res.ok) === hex(Uint8Array.from(expectedOk)), `ok flags ${Array.from(res.ok)} expected ${expectedOk}`);
      assert(res.rejected === 5, `rejected ${res.rejected}`);
      for (let i = 0; i < count; i++) {
        const pt = res.plaintexts.bytes.subarray(res.plaintexts.offsets[i]!, res.plaintexts.offsets[i + 1]!);
        if (expectedOk[i]) assertBytes(pt, plaintexts[i]!, `record ${i}`);
        else assert(pt.every((b) => b === 0), `record ${i}: rejected record leaked bytes`);
      }
    },
  },
  {
    name: 'records larger than a batch chunk stream through memory and still match WebCrypto',
    async run(core) {
      const rng = new Rng(0x5eed05);
      const key = rng.bytes(32);
      const ivs = rng.bytes(36);
      const plaintexts = [rng.bytes(100), rng.bytes(5 * 1024 * 1024 + 5), rng.bytes(17)];
      const aads = [rng.bytes(3), rng.bytes(2 * 1024 * 1024 + 1), rng.bytes(0)];
      const sealed = core.sealBatch({ key, ivs, plaintexts, aads });
      for (let i = 0; i < 3; i++) {
        const expected = await webcryptoGcmEncrypt(key, ivs.subarray(12 * i, 12 * i + 12), plaintexts[i]!, aads[i]!);
        assertBytes(sealed.bytes.subarray(sealed.offsets[i]!, sealed.offsets[i + 1]!), expected, `record ${i}`);
      }
      const opened = core.openBatch({ key, ivs, ciphertexts: sealed, aads });
      assert(opened.rejected === 0, 'large records open');
      assertBytes(opened.plaintexts.bytes.subarray(opened.plaintexts.offsets[1]!, opened.plaintexts.offsets[2]!), plaintexts[1]!, 'large record');
    },
  },
  {
    name: 'hkdfExpandBatch equals WebCrypto HKDF for counts 0, 1 and odd, output lengths 1..100',
    async run(core) {
      const rng = new Rng(0x5eed06);
      const ikm = rng.bytes(32);
      const salt = rng.bytes(32);
      const prk = core.hkdfExtract(ikm, salt);
      for (const [count, length] of [[0, 32], [1, 32], [17, 1], [31, 100], [5, 64]] as const) {
        const infos = Array.from({ length: count }, (_, i) => rng.unaligned(i % 4 === 0 ? 0 : rng.int(70)));
        const out = core.hkdfExpandBatch(prk, packBytes(infos), length);
        assert(out.length === count * length, `output size ${out.length}`);
        for (let i = 0; i < count; i++) {
          assertBytes(out.subarray(i * length, (i + 1) * length), await webcryptoHkdf(ikm, salt, infos[i]!, length), `count ${count} info ${i}`);
        }
        if (count > 0) assertBytes(core.hkdfExpandBatch(prk, infos, length), out, `array form, count ${count}`);
      }
    },
  },
  {
    name: 'bad arguments throw InvalidInputError with messages that contain no key or plaintext bytes',
    run(core) {
      const key = Uint8Array.from({ length: 32 }, (_, i) => 0xa0 + i);
      const iv = new Uint8Array(12);
      const pt = new TextEncoder().encode('secret plaintext that must not appear');
      const errors = [
        assertThrowsCode(() => core.aesGcmEncrypt(key.subarray(0, 24), iv, pt), 'INVALID_INPUT', '24-byte key'),
        assertThrowsCode(() => core.aesGcmEncrypt(key.subarray(0, 31), iv, pt), 'INVALID_INPUT', '31-byte key'),
        assertThrowsCode(() => core.aesGcmEncrypt(key, new Uint8Array(16), pt), 'INVALID_INPUT', '16-byte iv'),
        assertThrowsCode(() => core.aesGcmEncrypt(key, iv, 'text' as unknown as Uint8Array), 'INVALID_INPUT', 'string plaintext'),
        assertThrowsCode(() => core.aesGcmEncrypt(Array.from(key) as unknown as Uint8Array, iv, pt), 'INVALID_INPUT', 'array key'),
        assertThrowsCode(() => core.aesGcmDecrypt(key, iv, new Uint8Array(5)), 'INVALID_INPUT', 'short ciphertext'),
        assertThrowsCode(() => core.hkdfSha256(key, iv, pt, 8161), 'INVALID_INPUT', 'hkdf too long'),
        assertThrowsCode(() => core.hkdfSha256(key, iv, pt, -1), 'INVALID_INPUT', 'hkdf negative'),
        assertThrowsCode(() => core.hkdfSha256(key, iv, pt, 1.5), 'INVALID_INPUT', 'hkdf fractional'),
        assertThrowsCode(() => core.hkdfExpand(key.subarray(0, 16), pt, 32), 'INVALID_INPUT', 'short prk'),
        assertThrowsCode(() => core.sealBatch({ key, ivs: new Uint8Array(24), plaintexts: [pt] }), 'INVALID_INPUT', 'iv count'),
        assertThrowsCode(() => core.sealBatch({ key, keys: [key], ivs: iv, plaintexts: [pt] }), 'INVALID_INPUT', 'key and keys'),
        assertThrowsCode(() => core.sealBatch({ ivs: iv, plaintexts: [pt] }), 'INVALID_INPUT', 'no key'),
        assertThrowsCode(() => core.sealBatch({ keys: [key, key.subarray(0, 16)], ivs: new Uint8Array(24), plaintexts: [pt, pt] }), 'INVALID_INPUT', 'mixed key lengths'),
        assertThrowsCode(() => core.sealBatch({ key, ivs: iv, plaintexts: [pt], aads: [pt, pt] }), 'INVALID_INPUT', 'aad count'),
        assertThrowsCode(() => core.openBatch({ key, ivs: iv, ciphertexts: { bytes: pt, offsets: Uint32Array.from([0, 99]) } }), 'INVALID_INPUT', 'offsets past end'),
      ];
      const keyHex = hex(key);
      const text = new TextDecoder().decode(pt);
      for (const e of errors) {
        assert(!e.message.includes(keyHex.slice(0, 16)) && !e.message.includes(text), `message leaks input: ${e.message}`);
        assert(e instanceof Error && typeof e.code === 'string', 'errors are Error instances with a code');
      }
    },
  },
  {
    name: 'after each call, linear memory holds no key, round key or plaintext bytes',
    run(core) {
      const rng = new Rng(0x5eed07);
      const key = rng.bytes(32);
      const keys = rng.bytes(32 * 5);
      const plaintexts = Array.from({ length: 5 }, () => rng.bytes(3072));
      const ivs = rng.bytes(60);
      const sealed = core.sealBatch({ key, ivs, plaintexts });
      assertClean(core, [key, ...plaintexts], 'after sealBatch');
      core.openBatch({ key, ivs, ciphertexts: sealed });
      assertClean(core, [key, ...plaintexts], 'after openBatch');
      core.sealBatch({ keys, ivs, plaintexts });
      assertClean(core, [keys, ...plaintexts], 'after sealBatch with per-record keys');
      const one = core.aesGcmEncrypt(key, ivs.subarray(0, 12), plaintexts[0]!);
      core.aesGcmDecrypt(key, ivs.subarray(0, 12), one);
      assertClean(core, [key, plaintexts[0]!], 'after one-shot encrypt and decrypt');
      const bad = one.slice();
      bad[0]! ^= 1;
      assertThrowsCode(() => core.aesGcmDecrypt(key, ivs.subarray(0, 12), bad), 'AUTHENTICATION_FAILED', 'tampered');
      assertClean(core, [key, plaintexts[0]!], 'after a failed decrypt');
      const prk = core.hkdfExtract(key, ivs);
      const okm = core.hkdfExpandBatch(prk, [ivs, ivs.subarray(1)], 64);
      core.hmacSha256(key, plaintexts[1]!);
      assertClean(core, [key, prk, okm, plaintexts[1]!], 'after HKDF and HMAC');
    },
  },
];

/**
 * The forms a key takes inside the core: its bytes, and the first two AES round keys (the key's
 * halves) as broadcast bit planes (byte k of plane j is 0xff when bit j of key byte k is set).
 */
function keyForms(key: Uint8Array): Uint8Array[] {
  const forms = [key];
  for (let half = 0; half + 16 <= key.length; half += 16) {
    for (let j = 0; j < 8; j++) {
      forms.push(Uint8Array.from({ length: 16 }, (_, k) => ((key[half + k]! >> j) & 1 ? 0xff : 0)));
    }
  }
  return forms;
}

/**
 * Scans all of linear memory for any 16-byte window of the given secrets (taken at every 8-byte
 * step of each secret) and of their key forms. Finds nothing only if the call wiped what it used.
 */
function assertClean(core: Core, secrets: Uint8Array[], label: string): void {
  const mem = linearMemorySnapshot(core);
  const windows = new Map<number, Uint8Array[]>();
  for (const s of secrets.flatMap((x) => (x.length === 32 || x.length === 160 ? [...keyForms(x)] : [x]))) {
    for (let off = 0; off + 16 <= s.length; off += 8) {
      const w = s.subarray(off, off + 16);
      const head = (w[0]! | (w[1]! << 8) | (w[2]! << 16) | (w[3]! << 24)) >>> 0;
      const list = windows.get(head) ?? [];
      list.push(w);
      windows.set(head, list);
    }
  }
  const view = new DataView(mem.buffer);
  for (let i = 0; i + 16 <= mem.length; i++) {
    const head = view.getUint32(i, true);
    if (head === 0) continue;
    const candidates = windows.get(head);
    if (!candidates) continue;
    for (const w of candidates) {
      assert(!bytesEqual(mem.subarray(i, i + 16), w), `${label}: 16 secret bytes found in linear memory at ${i}`);
    }
  }
}
