/**
 * Record format v1 through vecseal's own seal/open (src/format): the test vectors are reproduced byte
 * for byte, every dtype round-trips at sizes 0..4096, and every kind of damage is rejected with the
 * right error while the other records of the batch still open. Runs with every backend of the runtime
 * (wasm and webcrypto everywhere, node:crypto in Node), in Node and the three browsers.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { unpackBytes } from '../../src/core/index.js';
import { loadBackend, type CipherBackend } from '../../src/backends/index.js';
import { backendNames } from '../_backends.js';
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

describe.each(backendNames())('record format v1 with the %s backend', (name) => {
  let backend: CipherBackend;
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
    backend = await loadBackend(name);
  });

  it('reproduces every record of test/vectors/format-v1.json and opens them', async () => {
    const dek = unhex(vectors.dek);
    for (const c of vectors.cases) {
      const k: DataKey = { dek, dekId: vectors.dekId, keyVersion: c.keyVersion, suite: c.suite as 1 | 2 };
      const items = c.records.map((r) => ({ context: r.context as RecordContext, payload: unhex(r.payload) }));
      const sealed = unpackBytes(await sealRecords(backend, k, items, unhex(c.salt)));
      expect(sealed.map((b) => Array.from(b))).toEqual(c.records.map((r) => Array.from(unhex(r.record))));
      const opened = await openRecords(backend, k, sealed, items.map((i) => i.context));
      opened.forEach((o, i) => expect(o.ok && Array.from(o.payload)).toEqual(Array.from(unhex(c.records[i]!.payload))));
    }
  });

  it('round-trips every dtype at sizes 0..4096 with text and metadata, and overhead is 62 bytes', async () => {
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
    const sealed = unpackBytes(await sealRecords(backend, key, items));
    sealed.forEach((r, i) => expect(r.length).toBe(items[i]!.payload.length + 62));
    expect(overheadBytes()).toBe(62);
    const opened = await openRecords(backend, key, sealed, items.map((i) => i.context));
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

  it('rejects every single flipped byte, truncation and extension, and still opens the untouched records', async () => {
    const items = [0, 1, 2].map((i) => ({ context: ctx(`r${i}`), payload: rng.bytes(32) }));
    const good = unpackBytes(await sealRecords(backend, key, items));
    const target = good[1]!;
    for (let b = 0; b < target.length; b++) {
      const bad = target.slice();
      bad[b]! ^= 0x40;
      const res = await openRecords(backend, key, [good[0]!, bad, good[2]!], items.map((i) => i.context));
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
      const [res] = await openRecords(backend, key, [bytes], [items[1]!.context]);
      expect(res!.ok, what).toBe(false);
      if (!res!.ok) expect(res!.error.code, what).toBe(code);
    }
  });

  it('rejects a record moved to another row, collection or tenant, or relabelled dtype, dimension or model', async () => {
    const item = { context: ctx('row-1', 'float32', 4, { modelId: 'm1', fields: { lang: 'en' } }), payload: rng.bytes(16) };
    const [rec] = unpackBytes(await sealRecords(backend, key, [item]));
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
      const [res] = await openRecords(backend, key, [rec!], [context]);
      expect(res!.ok, what).toBe(false);
      if (!res!.ok) expect(res!.error.code, what).toBe('AUTHENTICATION_FAILED');
    }
    const [same] = await openRecords(backend, key, [rec!], [{ ...item.context }]);
    expect(same!.ok).toBe(true);
  });

  it('a record does not open under another DEK, another DEK id or another key version, each with a distinct error', async () => {
    const item = { context: ctx('k'), payload: rng.bytes(32) };
    const [rec] = unpackBytes(await sealRecords(backend, key, [item]));
    const otherDek = { ...key, dek: rng.bytes(32) };
    const [wrongDek] = await openRecords(backend, otherDek, [rec!], [item.context]);
    expect(!wrongDek!.ok && wrongDek!.error.message).toContain('commitment');
    const [wrongVersion] = await openRecords(backend, { ...key, keyVersion: 4 }, [rec!], [item.context]);
    expect(!wrongVersion!.ok && wrongVersion!.error.code).toBe('KEY_STATE');
    const otherId = { ...key, dekId: 'dek/globex/docs' };
    const [wrongId] = await openRecords(backend, otherId, [rec!], [{ ...item.context, dekId: otherId.dekId }]);
    expect(!wrongId!.ok && wrongId!.error.message).toContain('key id');
  });

  it('suite 0x02 carries a 256-bit commitment (78 bytes overhead) and round-trips', async () => {
    const item = { context: ctx('s2'), payload: rng.bytes(32) };
    const strong = { ...key, suite: 2 as const };
    const [rec] = unpackBytes(await sealRecords(backend, strong, [item]));
    expect(rec!.length).toBe(32 + 78);
    const [res] = await openRecords(backend, key, [rec!], [item.context]);
    expect(res!.ok && Array.from(res!.payload)).toEqual(Array.from(item.payload));
  });

  it('each batch gets a fresh salt, so sealing the same input twice gives different records', async () => {
    const item = { context: ctx('same'), payload: new Uint8Array(32) };
    const a = unpackBytes(await sealRecords(backend, key, [item]))[0]!;
    const b = unpackBytes(await sealRecords(backend, key, [item]))[0]!;
    expect(Array.from(a.subarray(10, 26))).not.toEqual(Array.from(b.subarray(10, 26)));
    expect(Array.from(a)).not.toEqual(Array.from(b));
  });

  it('validates before sealing: bad key, mismatched DEK id, short payload fields, unknown dtype, lone surrogates', async () => {
    await expect(sealRecords(backend, { ...key, dek: new Uint8Array(16) }, [])).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(sealRecords(backend, key, [{ context: { ...ctx('x'), dekId: 'other' }, payload: new Uint8Array(32) }])).rejects.toMatchObject({ code: 'INVALID_INPUT' });
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

describe('backends agree', () => {
  it('every backend of the runtime seals byte-identical records for the same key, salt and inputs, and opens the others\' records', async () => {
    const rng = new Rng(0xb4c5);
    const key: DataKey = { dek: rng.bytes(32), dekId: 'dek/x', keyVersion: 1 };
    const salt = rng.bytes(16);
    // Sizes on both sides of the auto switch point, including 0 and odd lengths.
    const items = [0, 1, 15, 16, 17, 255, 256, 1000, 1024, 3072, 5000, 70_000].map((n, i) => ({
      context: { dekId: key.dekId, collection: 'c', tenant: 't', recordId: `r${i}`, dtype: 'uint8' as const, dimension: n },
      payload: rng.bytes(n),
    }));
    const names = [...backendNames(), 'auto' as const];
    const backends = await Promise.all(names.map((n) => loadBackend(n)));
    const sealed = await Promise.all(backends.map((b) => sealRecords(b, key, items, salt)));
    for (let b = 1; b < backends.length; b++) {
      expect(Array.from(sealed[b]!.bytes), `${names[b]} differs from ${names[0]}`).toEqual(Array.from(sealed[0]!.bytes));
    }
    const records = unpackBytes(sealed[0]!);
    records[3] = records[3]!.slice();
    records[3]![40]! ^= 1;
    for (const [b, backend] of backends.entries()) {
      const opened = await openRecords(backend, key, records, items.map((it) => it.context));
      opened.forEach((o, i) => {
        if (i === 3) expect(!o.ok && o.error.code, names[b]).toBe('AUTHENTICATION_FAILED');
        else expect(o.ok && Array.from(o.payload), `${names[b]} record ${i}`).toEqual(Array.from(items[i]!.payload));
      });
    }
  });
});
