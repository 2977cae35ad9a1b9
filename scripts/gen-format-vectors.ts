/**
 * Writes test/vectors/format-v1.json: worked examples of FORMAT.md version-1 records with every
 * intermediate value, from fixed keys and salts so the file is reproducible.
 *
 *   npx tsx scripts/gen-format-vectors.ts
 */
import { writeFileSync } from 'node:fs';
import { loadCore } from '../src/core/index.js';
import { wasmBackend } from '../src/backends/index.js';
import { encodeContext, encodePayload, keyIdOf, sealRecords, type RecordContext, type SuiteId } from '../src/format/index.js';
import { hkdfInfo, nonceFor, parseRecord } from '../src/format/layout.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const fromHex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));

const core = await loadCore();
const backend = wasmBackend(core);
const dek = fromHex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
const dekId = 'dek/acme/docs';

function f32(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

const base = { dekId, collection: 'docs', tenant: 'acme' };
const cases: { name: string; suite: SuiteId; salt: string; keyVersion: number; items: { context: RecordContext; vector: Uint8Array; text?: string; metadata?: unknown }[] }[] = [
  {
    name: 'float32 vectors, default suite, batch of three',
    suite: 0x01,
    salt: '5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a',
    keyVersion: 1,
    items: [
      { context: { ...base, recordId: 'doc-1', dtype: 'float32', dimension: 4 }, vector: f32([0.25, -1, 3.5, 0]) },
      { context: { ...base, recordId: 'doc-2', dtype: 'float32', dimension: 4, modelId: 'glove-6b-100d' }, vector: f32([1, 2, 3, 4]) },
      { context: { ...base, recordId: 'doc-3', dtype: 'float32', dimension: 0 }, vector: new Uint8Array(0) },
    ],
  },
  {
    name: 'every dtype, text and metadata, caller fields',
    suite: 0x01,
    salt: '00112233445566778899aabbccddeeff',
    keyVersion: 7,
    items: [
      { context: { ...base, recordId: 'f16', dtype: 'float16', dimension: 3 }, vector: fromHex('003c00c00042') },
      { context: { ...base, recordId: 'i8', dtype: 'int8', dimension: 5, fields: { source: 'upload', lang: 'en' } }, vector: fromHex('7f80000102') },
      { context: { ...base, recordId: 'u8', dtype: 'uint8', dimension: 2 }, vector: fromHex('00ff'), text: 'héllo wörld', metadata: { page: 3, tags: ['a', 'b'] } },
      { context: { ...base, recordId: 'bits', dtype: 'binary', dimension: 12 }, vector: fromHex('a5f0'), metadata: null },
      { context: { ...base, tenant: '', recordId: 'no-tenant', dtype: 'float32', dimension: 1 }, vector: f32([42]), text: '' },
    ],
  },
  {
    name: 'suite 0x02 (256-bit commitment)',
    suite: 0x02,
    salt: 'f0e0d0c0b0a090807060504030201000',
    keyVersion: 2,
    items: [{ context: { ...base, recordId: 'doc-9', dtype: 'float32', dimension: 2 }, vector: f32([0.5, 0.75]), text: 'strong commitment' }],
  },
];

const out = {
  description: 'vecseal record format version 1 test vectors (FORMAT.md). Hex strings; contexts as JSON.',
  dek: hex(dek),
  dekId,
  cases: await Promise.all(cases.map(async (c) => {
    const payloads = c.items.map((it) => encodePayload(it.vector, it.text, it.metadata));
    const sealed = await sealRecords(backend, { dek, dekId, keyVersion: c.keyVersion, suite: c.suite }, c.items.map((it, i) => ({ context: it.context, payload: payloads[i]! })), fromHex(c.salt));
    const info = hkdfInfo(c.suite, await keyIdOf(backend, dekId), c.keyVersion);
    const okm = core.hkdfSha256(dek, fromHex(c.salt), info, c.suite === 0x01 ? 48 : 64);
    return {
      name: c.name,
      suite: c.suite,
      keyVersion: c.keyVersion,
      salt: c.salt,
      hkdfInfo: hex(info),
      okm: hex(okm),
      records: c.items.map((it, i) => {
        const record = sealed.bytes.subarray(sealed.offsets[i]!, sealed.offsets[i + 1]!);
        const parsed = parseRecord(record);
        const context = encodeContext(it.context);
        const aad = new Uint8Array(parsed.header.length + context.length);
        aad.set(parsed.header);
        aad.set(context, parsed.header.length);
        return {
          context: it.context,
          text: it.text,
          metadata: it.metadata,
          vector: hex(it.vector),
          payload: hex(payloads[i]!),
          encodedContext: hex(context),
          nonce: hex(nonceFor(i)),
          aad: hex(aad),
          record: hex(record),
        };
      }),
    };
  })),
};
writeFileSync(new URL('../test/vectors/format-v1.json', import.meta.url), JSON.stringify(out, null, 2) + '\n');
console.log('wrote test/vectors/format-v1.json');
