/**
 * An independent decoder written only from FORMAT.md, using nothing but WebCrypto (no vecseal code
 * is imported): it must open every record in test/vectors/format-v1.json and reproduce the payload,
 * and reject a record whose context, key or bytes differ. Runs in Node and in the three browsers.
 */
import { describe, expect, it } from 'vitest';
import vectors from '../vectors/format-v1.json';

const subtle = globalThis.crypto.subtle;
const te = new TextEncoder();
const unhex = (h: string) => Uint8Array.from(h.match(/../g) ?? [], (b) => parseInt(b, 16));

// FORMAT.md section 2: tag (1) || u32 length || value, tags in increasing order, fields sorted by key.
function be32(n: number): number[] {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
}
const DTYPES: Record<string, number> = { float32: 1, float16: 2, int8: 3, uint8: 4, binary: 5 };
function contextBytes(c: { dekId: string; collection: string; tenant: string; recordId: string; dtype: string; dimension: number; modelId?: string; fields?: Record<string, string> }): Uint8Array {
  const out: number[] = [];
  const put = (tag: number, v: Uint8Array | number[]) => out.push(tag, ...be32(v.length), ...v);
  put(1, te.encode(c.dekId));
  put(2, te.encode(c.collection));
  put(3, te.encode(c.tenant));
  put(4, te.encode(c.recordId));
  put(5, [DTYPES[c.dtype]!]);
  put(6, be32(c.dimension));
  if (c.modelId !== undefined) put(7, te.encode(c.modelId));
  const fields = Object.entries(c.fields ?? {}).map(([k, v]) => [te.encode(k), te.encode(v)] as const);
  fields.sort(([a], [b]) => {
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
    return a.length - b.length;
  });
  for (const [k, v] of fields) put(8, [...be32(k.length), ...k, ...v]);
  return Uint8Array.from(out);
}

async function decode(record: Uint8Array, dek: Uint8Array, dekId: string, context: Parameters<typeof contextBytes>[0]): Promise<Uint8Array> {
  // Section 1: header.
  if (record[0] !== 1) throw new Error('version');
  const c = record[1] === 1 ? 16 : record[1] === 2 ? 32 : -1;
  if (c < 0 || record.length < 30 + c + 16) throw new Error('malformed');
  const header = record.subarray(0, 30 + c);
  const keyId = record.subarray(2, 6);
  const salt = record.subarray(10, 26);
  const index = record.subarray(26, 30);
  const commitment = record.subarray(30, 30 + c);
  // Section 1: keyId is SHA-256(dekId)[0..4).
  const idHash = new Uint8Array(await subtle.digest('SHA-256', te.encode(dekId)));
  if (idHash.subarray(0, 4).some((b, i) => b !== keyId[i])) throw new Error('key id');
  // Section 3: okm = HKDF(DEK, salt, "vecseal/v1" || suite || keyId || keyVersion, 32 + C).
  const info = Uint8Array.from([...te.encode('vecseal/v1'), record[1]!, ...record.subarray(2, 10)]);
  const ikm = await subtle.importKey('raw', dek as BufferSource, 'HKDF', false, ['deriveBits']);
  const okm = new Uint8Array(await subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: salt as BufferSource, info: info as BufferSource }, ikm, 8 * (32 + c)));
  // Section 4: commitment check before decrypting.
  if (okm.subarray(32).some((b, i) => b !== commitment[i])) throw new Error('commitment');
  const key = await subtle.importKey('raw', okm.subarray(0, 32) as BufferSource, 'AES-GCM', false, ['decrypt']);
  const nonce = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, ...index]);
  const aad = Uint8Array.from([...header, ...contextBytes(context)]);
  return new Uint8Array(await subtle.decrypt({ name: 'AES-GCM', iv: nonce as BufferSource, additionalData: aad as BufferSource, tagLength: 128 }, key, record.subarray(30 + c) as BufferSource));
}

describe('independent decoder (FORMAT.md + WebCrypto only)', () => {
  const dek = unhex(vectors.dek);
  type VectorRecord = (typeof vectors.cases)[number]['records'][number] & { text?: string; metadata?: unknown };
  const all = vectors.cases.flatMap((c) => c.records.map((r) => ({ c, r: r as VectorRecord })));

  it('opens every test-vector record and recovers its payload, vector, text and metadata', async () => {
    expect(all.length).toBe(9);
    for (const { r } of all) {
      const payload = await decode(unhex(r.record), dek, vectors.dekId, r.context);
      expect(Array.from(payload)).toEqual(Array.from(unhex(r.payload)));
      // Section 5: the vector is first; text follows a u32 length (0xffffffff = none), then metadata JSON.
      const vlen = unhex(r.vector).length;
      expect(Array.from(payload.subarray(0, vlen))).toEqual(Array.from(unhex(r.vector)));
      if (payload.length > vlen) {
        const view = new DataView(payload.buffer, payload.byteOffset + vlen);
        const tlen = view.getUint32(0, false);
        const textEnd = vlen + 4 + (tlen === 0xffffffff ? 0 : tlen);
        if (r.text !== undefined) expect(new TextDecoder().decode(payload.subarray(vlen + 4, textEnd))).toBe(r.text);
        if ('metadata' in r && r.metadata !== undefined) expect(JSON.parse(new TextDecoder().decode(payload.subarray(textEnd)))).toEqual(r.metadata);
      }
    }
  });

  it('agrees with the intermediate values in the vectors (context encoding, AAD, nonce)', () => {
    for (const { r } of all) {
      const ctx = contextBytes(r.context);
      expect(Array.from(ctx)).toEqual(Array.from(unhex(r.encodedContext)));
      const record = unhex(r.record);
      const c = record[1] === 1 ? 16 : 32;
      expect(Array.from(unhex(r.aad))).toEqual([...record.subarray(0, 30 + c), ...ctx]);
      expect(Array.from(unhex(r.nonce))).toEqual([0, 0, 0, 0, 0, 0, 0, 0, ...record.subarray(26, 30)]);
    }
  });

  it('rejects another tenant, another record id, another key and a flipped byte', async () => {
    const { r } = all[0]!;
    const record = unhex(r.record);
    await expect(decode(record, dek, vectors.dekId, { ...r.context, tenant: 'other' })).rejects.toThrow();
    await expect(decode(record, dek, vectors.dekId, { ...r.context, recordId: 'doc-2' })).rejects.toThrow();
    const otherDek = dek.slice();
    otherDek[0]! ^= 1;
    await expect(decode(record, otherDek, vectors.dekId, r.context)).rejects.toThrow('commitment');
    const flipped = record.slice();
    flipped[flipped.length - 20]! ^= 1;
    await expect(decode(flipped, dek, vectors.dekId, r.context)).rejects.toThrow();
  });
});
