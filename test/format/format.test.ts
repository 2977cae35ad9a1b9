/**
 * Record format v1 through vecseal's own seal/open (src/format): the test vectors are reproduced byte
 * for byte, every dtype round-trips at sizes 0..4096, and every kind of damage is rejected with the
 * right error while the other records of the batch still open. Runs in Node and the three browsers.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCore, unpackBytes, type Core } from '../../src/core/index.js';
import {
  decodePayload,
  encodeContext,
  encodePayload,
  openRecords,
  overheadBytes,
  sealRecords,
  vectorByteLength,
  type DataKey,
  type Dtype,
  type RecordContext,
} from '../../src/format/index.js';
import vectors from '../vectors/format-v1.json';
import { Rng } from '../_assert.js';

const unhex = (h: string) => Uint8Array.from(h.match(/../g) ?? [], (b) => parseInt(b, 16));

describe('record format v1', () => {
  let core: Core;
  const rng = new Rng(0xf0a7);
  const key: DataKey = { dek: rng.bytes(32), dekId: 'dek/acme/docs', keyVersion: 3 };
  const ctx = (recordId: string, dtype: Dtype = 'float32', dimension = 8, extra: Partial<RecordContext> = {}): RecordContext => ({
    dekId: key.dekId,
    collection: 'docs',
    tenant: 'acme',
    recordId,
    dtype,
    dimension,
    ...extra,
  });
  beforeAll(async () => {
    core = await loadCore();
  });

  it('reproduces every record of test/vectors/format-v1.json and opens them', () => {
    const dek = unhex(vectors.dek);
    for (const c of vectors.cases) {
      const k: DataKey = { dek, dekId: vectors.dekId, keyVersion: c.keyVersion, suite: c.suite as 1 | 2 };
      const items = c.records.map((r) => ({ context: r.context as RecordContext, payload: unhex(r.payload) }));
      const sealed = unpackBytes(sealRecords(core, k, items, unhex(c.salt)));
      expect(sealed.map((b) => Array.from(b))).toEqual(c.records.map((r) => Array.from(unhex(r.record))));
      const opened = openRecords(core, k, sealed, items.map((i) => i.context));
      opened.forEach((o, i) => expect(o.ok && Array.from(o.payload)).toEqual(Array.from(unhex(c.records[i]!.payload))));
    }
  });

  it('round-trips every dtype at sizes 0..4096 with text and metadata, and overhead is 62 bytes', () => {
    const dtypes: Dtype[] = ['float32', 'float16', 'int8', 'uint8', 'binary'];
    const dims = [0, 1, 7, 8, 9, 100, 384, 768, 1536, 4096];
    const items = dtypes.flatMap((dtype) =>
      dims.map((dim, j) => {
        const vector = rng.bytes(vectorByteLength(dtype, dim));
        const text = j % 3 === 0 ? undefined : `chunk ${dtype}/${dim} ✓`;
        const metadata = j % 2 === 0 ? undefined : { dim, dtype, nested: [1, { a: null }] };
        return { context: ctx(`${dtype}-${dim}`, dtype, dim), vector, text, metadata, payload: encodePayload(vector, text, metadata) };
      }),
    );
    const sealed = unpackBytes(sealRecords(core, key, items));
    sealed.forEach((r, i) => expect(r.length).toBe(items[i]!.payload.length + 62));
    expect(overheadBytes()).toBe(62);
    const opened = openRecords(core, key, sealed, items.map((i) => i.context));
    opened.forEach((o, i) => {
      const item = items[i]!;
      expect(o.ok).toBe(true);
      if (!o.ok) return;
      const d = decodePayload(o.payload, vectorByteLength(item.context.dtype, item.context.dimension));
      expect(Array.from(d.vector)).toEqual(Array.from(item.vector));
      expect(d.text).toBe(item.text);
      expect(d.metadata).toEqual(item.metadata);
    });
  });

  it('rejects every single flipped byte, truncation and extension, and still opens the untouched records', () => {
    const items = [0, 1, 2].map((i) => ({ context: ctx(`r${i}`), payload: rng.bytes(32) }));
    const good = unpackBytes(sealRecords(core, key, items));
    const target = good[1]!;
    for (let b = 0; b < target.length; b++) {
      const bad = target.slice();
      bad[b]! ^= 0x40;
      const res = openRecords(core, key, [good[0]!, bad, good[2]!], items.map((i) => i.context));
      expect(res[0]!.ok && res[2]!.ok, `byte ${b}: neighbours must still open`).toBe(true);
      expect(res[1]!.ok, `byte ${b} flipped was accepted`).toBe(false);
      if (!res[1]!.ok) expect(['FORMAT_ERROR', 'AUTHENTICATION_FAILED', 'KEY_STATE']).toContain(res[1]!.error.code);
    }
    const cases: [string, Uint8Array, string][] = [
      ['truncated by one byte', target.subarray(0, target.length - 1), 'AUTHENTICATION_FAILED'],
      ['truncated into the header', target.subarray(0, 40), 'FORMAT_ERROR'],
      ['empty', new Uint8Array(0), 'FORMAT_ERROR'],
      ['extended by one byte', Uint8Array.from([...target, 0]), 'AUTHENTICATION_FAILED'],
    ];
    for (const [what, bytes, code] of cases) {
      const [res] = openRecords(core, key, [bytes], [items[1]!.context]);
      expect(res!.ok, what).toBe(false);
      if (!res!.ok) expect(res!.error.code, what).toBe(code);
    }
  });

  it('rejects a record moved to another row, collection or tenant, or relabelled dtype, dimension or model', () => {
    const item = { context: ctx('row-1', 'float32', 4, { modelId: 'm1', fields: { lang: 'en' } }), payload: rng.bytes(16) };
    const [rec] = unpackBytes(sealRecords(core, key, [item]));
    const moved: [string, RecordContext][] = [
      ['another record id', { ...item.context, recordId: 'row-2' }],
      ['another collection', { ...item.context, collection: 'other' }],
      ['another tenant', { ...item.context, tenant: 'globex' }],
      ['another dtype', { ...item.context, dtype: 'uint8', dimension: 16 }],
      ['another dimension', { ...item.context, dimension: 3 }],
      ['another model', { ...item.context, modelId: 'm2' }],
      ['no model', { ...item.context, modelId: undefined }],
      ['another caller field', { ...item.context, fields: { lang: 'de' } }],
    ];
    for (const [what, context] of moved) {
      const [res] = openRecords(core, key, [rec!], [context]);
      expect(res!.ok, what).toBe(false);
      if (!res!.ok) expect(res!.error.code, what).toBe('AUTHENTICATION_FAILED');
    }
    const [same] = openRecords(core, key, [rec!], [{ ...item.context }]);
    expect(same!.ok).toBe(true);
  });

  it('a record does not open under another DEK, another DEK id or another key version, each with a distinct error', () => {
    const item = { context: ctx('k'), payload: rng.bytes(32) };
    const [rec] = unpackBytes(sealRecords(core, key, [item]));
    const otherDek = { ...key, dek: rng.bytes(32) };
    const [wrongDek] = openRecords(core, otherDek, [rec!], [item.context]);
    expect(!wrongDek!.ok && wrongDek!.error.message).toContain('commitment');
    const [wrongVersion] = openRecords(core, { ...key, keyVersion: 4 }, [rec!], [item.context]);
    expect(!wrongVersion!.ok && wrongVersion!.error.code).toBe('KEY_STATE');
    const otherId = { ...key, dekId: 'dek/globex/docs' };
    const [wrongId] = openRecords(core, otherId, [rec!], [{ ...item.context, dekId: otherId.dekId }]);
    expect(!wrongId!.ok && wrongId!.error.message).toContain('key id');
  });

  it('suite 0x02 carries a 256-bit commitment (78 bytes overhead) and round-trips', () => {
    const item = { context: ctx('s2'), payload: rng.bytes(32) };
    const strong = { ...key, suite: 2 as const };
    const [rec] = unpackBytes(sealRecords(core, strong, [item]));
    expect(rec!.length).toBe(32 + 78);
    const [res] = openRecords(core, key, [rec!], [item.context]);
    expect(res!.ok && Array.from(res!.payload)).toEqual(Array.from(item.payload));
  });

  it('each batch gets a fresh salt, so sealing the same input twice gives different records', () => {
    const item = { context: ctx('same'), payload: new Uint8Array(32) };
    const a = unpackBytes(sealRecords(core, key, [item]))[0]!;
    const b = unpackBytes(sealRecords(core, key, [item]))[0]!;
    expect(Array.from(a.subarray(10, 26))).not.toEqual(Array.from(b.subarray(10, 26)));
    expect(Array.from(a)).not.toEqual(Array.from(b));
  });

  it('validates before sealing: bad key, mismatched DEK id, short payload fields, unknown dtype, lone surrogates', () => {
    expect(() => sealRecords(core, { ...key, dek: new Uint8Array(16) }, [])).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    expect(() => sealRecords(core, key, [{ context: { ...ctx('x'), dekId: 'other' }, payload: new Uint8Array(32) }])).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    expect(() => encodeContext({ ...ctx('x'), dtype: 'float64' as Dtype })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    expect(() => encodeContext({ ...ctx('x'), recordId: 'a\uD800b' })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    expect(() => encodeContext({ ...ctx('x'), dimension: -1 })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    // Distinct contexts encode differently, including absent vs empty model id and field order.
    const enc = (c: RecordContext) => Array.from(encodeContext(c)).join(',');
    expect(enc({ ...ctx('x') })).not.toBe(enc({ ...ctx('x'), modelId: '' }));
    expect(enc({ ...ctx('x'), fields: { a: '1', b: '2' } })).toBe(enc({ ...ctx('x'), fields: { b: '2', a: '1' } }));
    expect(enc({ ...ctx('x'), collection: 'ab', tenant: 'c' })).not.toBe(enc({ ...ctx('x'), collection: 'a', tenant: 'bc' }));
  });
});
