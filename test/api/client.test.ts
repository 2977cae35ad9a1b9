/**
 * The public API end to end (createClient, encrypt/decrypt vectors and records, streams), the same
 * suite in Node and in Chromium, Firefox and WebKit, on the calling thread and in workers, with each
 * backend the runtime has.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createClient,
  MemoryKeyStore,
  WebCryptoKeyProvider,
  type BackendChoice,
  type SealedRecord,
  type VecsealClient,
} from '../../src/index.js';
import { Rng } from '../_assert.js';
import { backendNames } from '../_backends.js';

const configs: { workers: number; backend: BackendChoice }[] = [
  { workers: 0, backend: 'auto' },
  { workers: 2, backend: 'auto' },
  ...backendNames().map((backend) => ({ workers: 1, backend })),
];

function randomVectors(rng: Rng, count: number, dim: number): Float32Array[] {
  return Array.from({ length: count }, () => Float32Array.from({ length: dim }, () => rng.next() / 0x1_0000_0000 - 0.5));
}

const same = (a: ArrayLike<number>, b: ArrayLike<number>) => expect(Array.from(a)).toEqual(Array.from(b));

describe.each(configs)('vecseal client (workers $workers, backend $backend)', ({ workers, backend }) => {
  let client: VecsealClient;
  const rng = new Rng(0xc11e + workers);
  const store = new MemoryKeyStore();
  let provider: WebCryptoKeyProvider;

  beforeAll(async () => {
    provider = await WebCryptoKeyProvider.generate();
    client = await createClient({ provider, store, workers, backend });
  });
  afterAll(async () => {
    await client?.close();
  });

  it('seals and opens Float32Array[] and a packed matrix, ids in order, 62 bytes overhead', async () => {
    const vectors = randomVectors(rng, 300, 768);
    const ids = vectors.map((_, i) => `doc-${i}`);
    const sealed = await client.encryptVectors({ collection: 'docs', tenant: 'acme', ids, vectors, modelId: 'm' });
    expect(sealed.map((r) => r.id)).toEqual(ids);
    sealed.forEach((r) => expect(r.ciphertext.length).toBe(768 * 4 + 62));
    // Each record owns its buffer (safe to store with structured clone).
    expect(sealed[1]!.ciphertext.buffer.byteLength).toBe(768 * 4 + 62);
    const opened = await client.decryptVectors({ collection: 'docs', tenant: 'acme', dimension: 768, modelId: 'm', records: sealed });
    opened.forEach((o, i) => {
      expect(o.id).toBe(ids[i]);
      expect(o.ok).toBe(true);
      if (o.ok) same(o.vector, vectors[i]!);
    });

    const matrix = new Float32Array(5 * 16).map((_, i) => i * 0.25);
    const m = await client.encryptVectors({ collection: 'docs', tenant: 'acme', ids: ['a', 'b', 'c', 'd', 'e'], vectors: matrix });
    const back = await client.decryptVectors({ collection: 'docs', tenant: 'acme', dimension: 16, records: m });
    back.forEach((o, i) => expect(o.ok && Array.from(o.vector)).toEqual(Array.from(matrix.subarray(16 * i, 16 * i + 16))));
  });

  it('round-trips every dtype with text and metadata through encryptRecords/decryptRecords', async () => {
    const cases = [
      ['float32', (n: number) => new Float32Array(n).map(() => rng.next()), 384],
      ['float16', (n: number) => new Uint16Array(n).map(() => rng.next()), 1024],
      ['int8', (n: number) => new Int8Array(n).map(() => rng.next()), 4096],
      ['uint8', (n: number) => new Uint8Array(n).map(() => rng.next()), 0],
      ['binary', (n: number) => new Uint8Array(n / 8).map(() => rng.next()), 1024],
    ] as const;
    for (const [dtype, make, dim] of cases) {
      const records = Array.from({ length: 7 }, (_, i) => ({
        id: `${dtype}-${i}`,
        vector: make(dim),
        ...(i % 2 ? { text: `chunk ${i} ✓` } : {}),
        ...(i % 3 ? { metadata: { page: i, tags: ['a', null] } } : {}),
      }));
      const sealed = await client.encryptRecords({ collection: 'chunks', dtype, dimension: dim, records });
      const opened = await client.decryptRecords({ collection: 'chunks', dtype, dimension: dim, records: sealed });
      opened.forEach((o, i) => {
        const r = records[i]!;
        expect(o.ok, `${dtype} ${i}`).toBe(true);
        if (!o.ok) return;
        expect(o.vector.constructor).toBe(r.vector.constructor);
        same(o.vector, r.vector);
        expect(o.text).toBe(r.text);
        expect(o.metadata).toEqual(r.metadata);
      });
    }
  });

  it('gives each bad record its own error while the others open', async () => {
    const vectors = randomVectors(rng, 6, 32);
    const ids = vectors.map((_, i) => `r${i}`);
    const sealed = await client.encryptVectors({ collection: 'docs', tenant: 'acme', ids, vectors });
    const other = await client.encryptVectors({ collection: 'docs', tenant: 'globex', ids: ['r3'], vectors: [vectors[3]!] });
    const flipped = sealed[1]!.ciphertext.slice();
    flipped[flipped.length - 3]! ^= 1;
    const records: SealedRecord[] = [
      sealed[0]!,
      { id: 'r1', ciphertext: flipped },
      { id: 'r2', ciphertext: sealed[4]!.ciphertext }, // swapped rows
      { id: 'r3', ciphertext: other[0]!.ciphertext }, // another tenant's record
      { id: 'r4', ciphertext: sealed[4]!.ciphertext.subarray(0, 20) }, // truncated
      sealed[5]!,
    ];
    const opened = await client.decryptVectors({ collection: 'docs', tenant: 'acme', dimension: 32, records });
    expect(opened.map((o) => (o.ok ? 'ok' : o.error.code))).toEqual(['ok', 'AUTHENTICATION_FAILED', 'AUTHENTICATION_FAILED', 'AUTHENTICATION_FAILED', 'FORMAT_ERROR', 'ok']);
    if (opened[5]!.ok) same(opened[5]!.vector, vectors[5]!);
    // Errors never carry plaintext or key material: just a message and a code.
    for (const o of opened) if (!o.ok) expect(o.error.message.length).toBeLessThan(200);
  });

  it('binds collection, tenant, dtype, dimension and model: opening under another fails', async () => {
    const sealed = await client.encryptVectors({ collection: 'docs', tenant: 'acme', ids: ['x'], vectors: randomVectors(rng, 1, 8), modelId: 'e5' });
    const attempts = [
      { collection: 'notes', tenant: 'acme', dimension: 8, modelId: 'e5' },
      { collection: 'docs', tenant: 'globex', dimension: 8, modelId: 'e5' },
      { collection: 'docs', tenant: 'acme', dimension: 8 },
      { collection: 'docs', tenant: 'acme', dimension: 8, modelId: 'e5', fields: { lang: 'en' } },
      { collection: 'docs', tenant: 'acme', dimension: 16, dtype: 'float16' as const, modelId: 'e5' },
    ];
    for (const a of attempts) {
      const [o] = await client.decryptVectors({ ...a, records: sealed });
      expect(o!.ok, JSON.stringify(a)).toBe(false);
    }
    const [good] = await client.decryptVectors({ collection: 'docs', tenant: 'acme', dimension: 8, modelId: 'e5', records: sealed });
    expect(good!.ok).toBe(true);
  });

  it('rejects bad input before sealing anything, with InvalidInputError', async () => {
    const v = randomVectors(rng, 2, 4);
    const bad: [string, () => Promise<unknown>][] = [
      ['ids and vectors differ in count', () => client.encryptVectors({ collection: 'c', ids: ['a'], vectors: v })],
      ['no collection', () => client.encryptVectors({ collection: '', ids: ['a', 'b'], vectors: v })],
      ['mixed dimensions', () => client.encryptVectors({ collection: 'c', ids: ['a', 'b'], vectors: [v[0]!, new Float32Array(5)] })],
      ['plain array vector', () => client.encryptVectors({ collection: 'c', ids: ['a'], vectors: [[1, 2] as never] })],
      ['non-string id', () => client.encryptVectors({ collection: 'c', ids: [7 as never, 'b'], vectors: v })],
      ['matrix not a whole number of rows', () => client.encryptVectors({ collection: 'c', ids: ['a', 'b'], vectors: new Float32Array(7) })],
      ['unknown dtype', () => client.decryptVectors({ collection: 'c', dimension: 4, dtype: 'float64' as never, records: [] })],
      ['lone surrogate id', () => client.encryptVectors({ collection: 'c', ids: ['a', '\uD800'], vectors: v })],
      ['metadata not JSON', () => client.encryptRecords({ collection: 'c', records: [{ id: 'a', vector: v[0]!, metadata: { n: 1n } }] })],
      ['ciphertext not bytes', () => client.decryptVectors({ collection: 'c', dimension: 4, records: [{ id: 'a', ciphertext: 'zz' as never }] })],
    ];
    for (const [what, call] of bad) await expect(call(), what).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });

  it('reports progress, and an aborted call rejects with ABORTED', async () => {
    const vectors = randomVectors(rng, 2000, 384);
    const ids = vectors.map((_, i) => `p${i}`);
    const seen: number[] = [];
    await client.encryptVectors({ collection: 'docs', ids, vectors }, { onProgress: (done, total) => seen.push(done / total) });
    expect(seen.at(-1)).toBe(1);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    const ctl = new AbortController();
    ctl.abort();
    await expect(client.encryptVectors({ collection: 'docs', ids, vectors }, { signal: ctl.signal })).rejects.toMatchObject({ code: 'ABORTED' });
    const late = new AbortController();
    const p = client.encryptVectors({ collection: 'docs', ids, vectors }, { signal: late.signal, onProgress: () => late.abort() });
    await expect(p).rejects.toMatchObject({ code: 'ABORTED' });
  });

  it('streams: encryptStream then decryptStream, in order, reading the source only as fast as it is consumed', async () => {
    const total = 5000;
    let pulled = 0;
    async function* source() {
      for (let i = 0; i < total; i++) {
        pulled++;
        yield { id: `s${i}`, vector: Float32Array.of(i, -i, i / 2, 1), ...(i % 100 === 0 ? { text: `t${i}` } : {}) };
      }
    }
    const sealed: SealedRecord[] = [];
    for await (const r of client.encryptStream(source(), { collection: 'stream', dimension: 4, batchSize: 500 })) {
      sealed.push(r);
      // Bounded read-ahead: a few batches, never the whole source.
      expect(pulled - sealed.length).toBeLessThanOrEqual(500 * (Math.max(1, workers) + 2));
    }
    expect(sealed.length).toBe(total);
    let i = 0;
    for await (const o of client.decryptStream(sealed, { collection: 'stream', dimension: 4, batchSize: 700 })) {
      expect(o.id).toBe(`s${i}`);
      expect(o.ok && Array.from(o.vector)).toEqual([i, -i, i / 2, 1]);
      expect(o.ok && o.text).toBe(i % 100 === 0 ? `t${i}` : undefined);
      i++;
    }
    expect(i).toBe(total);
  });

  it('records sealed by one backend open with every other (shared store and provider)', async () => {
    const vectors = randomVectors(rng, 50, 1536); // above the auto switch point
    const small = randomVectors(rng, 50, 16);
    const ids = vectors.map((_, i) => `x${i}`);
    const a = await client.encryptVectors({ collection: 'cross', ids, vectors });
    const b = await client.encryptVectors({ collection: 'cross', ids, vectors: small });
    for (const other of backendNames()) {
      const peer = await createClient({ provider, store, workers: 0, backend: other });
      try {
        const oa = await peer.decryptVectors({ collection: 'cross', dimension: 1536, records: a });
        const ob = await peer.decryptVectors({ collection: 'cross', dimension: 16, records: b });
        oa.forEach((o, i) => expect(o.ok && Array.from(o.vector), other).toEqual(Array.from(vectors[i]!)));
        ob.forEach((o, i) => expect(o.ok && Array.from(o.vector), other).toEqual(Array.from(small[i]!)));
      } finally {
        await peer.close();
      }
    }
  });
});

describe('client lifecycle', () => {
  it('keeps tenants apart, needs a provider, and refuses work after close', async () => {
    await expect(createClient({} as never)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(createClient({ provider: await WebCryptoKeyProvider.generate(), workers: -1 })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    const provider = await WebCryptoKeyProvider.generate();
    const client = await createClient({ provider, workers: 1 });
    const sealed = await client.encryptVectors({ collection: 'docs', tenant: 'a', ids: ['1'], vectors: [Float32Array.of(1, 2)] });
    // Tenant b has no DEK yet: nothing to open with.
    const [none] = await client.decryptVectors({ collection: 'docs', tenant: 'b', dimension: 2, records: sealed });
    expect(!none!.ok && none!.error.code).toBe('KEY_STATE');
    // Once it has one, tenant a's bytes presented as tenant b's record name another DEK.
    await client.encryptVectors({ collection: 'docs', tenant: 'b', ids: ['2'], vectors: [Float32Array.of(3, 4)] });
    const [o] = await client.decryptVectors({ collection: 'docs', tenant: 'b', dimension: 2, records: sealed });
    expect(!o!.ok && o!.error.code).toBe('AUTHENTICATION_FAILED');
    await client.close();
    await client.close();
    await expect(client.encryptVectors({ collection: 'docs', ids: ['1'], vectors: [Float32Array.of(1, 2)] })).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('a store written by another KEK gives a clear provider-side error, not plaintext', async () => {
    const store = new MemoryKeyStore();
    const first = await createClient({ provider: await WebCryptoKeyProvider.generate(), store, workers: 0 });
    const sealed = await first.encryptVectors({ collection: 'docs', ids: ['1'], vectors: [Float32Array.of(1, 2)] });
    await first.close();
    const second = await createClient({ provider: await WebCryptoKeyProvider.generate(), store, workers: 0 });
    await expect(second.decryptVectors({ collection: 'docs', dimension: 2, records: sealed })).rejects.toMatchObject({ code: 'AUTHENTICATION_FAILED' });
    await second.close();
  });
});
