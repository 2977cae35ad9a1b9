/**
 * The key lifecycle end to end through the public API, on the store each runtime would use in
 * production (FileKeyStore in Node, IndexedDbKeyStore in Chromium, Firefox and WebKit), with real
 * workers: per-tenant isolation, rotateDek, suspend/resume, destroy with its receipt, rotateKek
 * (also interrupted and resumed), usage limits, cache limits, single-flight unwraps, policy,
 * the audit trail (complete, verifiable, free of key bytes, fail closed) and re-encryption jobs.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  AbortedError,
  createClient,
  KeyDestroyedError,
  KeyStateError,
  parseJsonl,
  PolicyError,
  verifyAuditLog,
  verifyShredReceipt,
  WebCryptoKeyProvider,
  type AccessPolicy,
  type ClientOptions,
  type KeyProvider,
  type KeyStore,
  type SealedRecord,
  type VecsealClient,
  type WrapContext,
  type WrappedKey,
} from '../../src/index.js';
import { recordKeyVersion } from '../../src/keys/reencrypt.js';
import { Rng } from '../_assert.js';
import { openStore, type OpenedStore } from './_stores.js';

const DIM = 32;
const rng = new Rng(0x11fe);

function vectors(count: number): Float32Array[] {
  return Array.from({ length: count }, () => Float32Array.from({ length: DIM }, () => rng.next() / 0x1_0000_0000 - 0.5));
}
const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

async function signingPair(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
}

/** A real provider that counts the calls made to it (what a KMS bill would show). */
class CountingProvider implements KeyProvider {
  unwraps = 0;
  constructor(readonly inner: KeyProvider) {}
  get id() {
    return this.inner.id;
  }
  get kekId() {
    return this.inner.kekId;
  }
  wrap(dek: Uint8Array, ctx: WrapContext) {
    return this.inner.wrap(dek, ctx);
  }
  async unwrap(w: WrappedKey, ctx: WrapContext) {
    this.unwraps++;
    return this.inner.unwrap(w, ctx);
  }
}

/** A real store whose audit appends can be made to fail (a full disk, a lost connection). */
function failingAudit(store: KeyStore): KeyStore & { failing: boolean } {
  const out = Object.create(store) as KeyStore & { failing: boolean };
  out.failing = false;
  out.appendAudit = async (line) => {
    if (out.failing) throw new Error('disk full');
    return store.appendAudit(line);
  };
  // Methods keep their own `this` (private fields live on the original).
  for (const name of ['getDek', 'listDekVersions', 'listDeks', 'createDek', 'updateDek', 'addUsage', 'readAudit', 'getMeta', 'setMeta'] as const) {
    (out as unknown as Record<string, unknown>)[name] = (store[name] as (...a: unknown[]) => unknown).bind(store);
  }
  return out;
}

const opened: OpenedStore[] = [];
const clients: VecsealClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const s of opened.splice(0)) await s.remove();
});

async function setup(options: Partial<ClientOptions> = {}) {
  const s = await openStore();
  opened.push(s);
  const provider = options.provider ?? (await WebCryptoKeyProvider.generate({ kekId: 'kek-1' }));
  const client = await createClient({ workers: 1, channel: `vecseal-test-${crypto.randomUUID()}`, ...options, provider, store: options.store ?? s.store });
  clients.push(client);
  return { client, provider, s };
}

async function openAll(client: VecsealClient, scope: { collection: string; tenant?: string }, records: readonly SealedRecord[]) {
  return client.decryptVectors({ ...scope, dimension: DIM, records });
}

describe('key lifecycle (persistent store, workers)', () => {
  it('isolates tenants: each has its own DEK, and no tenant opens another one\'s records', async () => {
    const { client } = await setup();
    const acme = await client.encryptVectors({ collection: 'docs', tenant: 'acme', ids: ids('a', 20), vectors: vectors(20) });
    const globex = await client.encryptVectors({ collection: 'docs', tenant: 'globex', ids: ids('g', 20), vectors: vectors(20) });
    const [va, vg] = [await client.keys.versions({ collection: 'docs', tenant: 'acme' }), await client.keys.versions({ collection: 'docs', tenant: 'globex' })];
    expect(va).toHaveLength(1);
    expect(vg).toHaveLength(1);
    expect(va[0]!.dekId).not.toBe(vg[0]!.dekId);
    expect((await openAll(client, { collection: 'docs', tenant: 'acme' }, acme)).every((r) => r.ok)).toBe(true);
    // globex's records presented as acme's (or another collection's) open nowhere.
    const cross = await openAll(client, { collection: 'docs', tenant: 'acme' }, globex);
    expect(cross.some((r) => r.ok)).toBe(false);
    const moved = await openAll(client, { collection: 'other', tenant: 'globex' }, globex);
    expect(moved.some((r) => r.ok)).toBe(false);
  });

  it('rotateDek: a new active version seals, older versions only open; then suspend and resume', async () => {
    const { client } = await setup();
    const scope = { collection: 'docs', tenant: 'acme' };
    const v1 = await client.encryptVectors({ ...scope, ids: ids('v1', 10), vectors: vectors(10) });
    const next = await client.keys.rotateDek(scope);
    expect(next.version).toBe(2);
    expect((await client.keys.versions(scope)).map((d) => [d.version, d.state])).toEqual([[1, 'decrypt-only'], [2, 'active']]);
    const v2 = await client.encryptVectors({ ...scope, ids: ids('v2', 10), vectors: vectors(10) });
    expect(v2.every((r) => recordKeyVersion(r.ciphertext) === 2)).toBe(true);
    expect((await openAll(client, scope, [...v1, ...v2])).every((r) => r.ok)).toBe(true);

    await client.keys.suspend(scope);
    expect((await client.keys.versions(scope)).map((d) => d.state)).toEqual(['suspended', 'suspended']);
    const refused = await openAll(client, scope, [...v1, ...v2]);
    for (const r of refused) {
      expect(r.ok).toBe(false);
      if (!r.ok) expect((r.error as KeyStateError).state).toBe('suspended');
    }
    await expect(client.encryptVectors({ ...scope, ids: ['x'], vectors: vectors(1) })).rejects.toBeInstanceOf(KeyStateError);
    expect(client.cachedKeys).toBe(0);

    await client.keys.resume(scope);
    expect((await client.keys.versions(scope)).map((d) => d.state)).toEqual(['decrypt-only', 'active']);
    expect((await openAll(client, scope, [...v1, ...v2])).every((r) => r.ok)).toBe(true);
  });

  it('a state change reaches another client on the same store at once, and its cached DEK is wiped', async () => {
    const channel = `vecseal-test-${crypto.randomUUID()}`;
    const { client: a, provider, s } = await setup({ channel });
    const b = await createClient({ provider, store: await s.second(), workers: 1, channel });
    clients.push(b);
    const scope = { collection: 'docs', tenant: 'acme' };
    const sealed = await a.encryptVectors({ ...scope, ids: ids('x', 5), vectors: vectors(5) });
    expect((await openAll(b, scope, sealed)).every((r) => r.ok)).toBe(true);
    expect(b.cachedKeys).toBe(1);
    await a.keys.suspend(scope);
    // The BroadcastChannel notice evicts b's copy without b doing anything.
    const until = Date.now() + 5000;
    while (b.cachedKeys > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(b.cachedKeys).toBe(0);
    expect((await openAll(b, scope, sealed)).some((r) => r.ok)).toBe(false);
  });

  it('destroy(tenant): every record fails with KeyDestroyedError, the tenant KEK is destroyed, and the signed receipt verifies', async () => {
    const signer = await signingPair();
    const globexKek = await WebCryptoKeyProvider.generate({ kekId: 'kek-globex' });
    const { client, s } = await setup({ audit: { signer: signer.privateKey }, tenantProviders: { globex: globexKek } });
    const g1 = await client.encryptVectors({ collection: 'docs', tenant: 'globex', ids: ids('g', 8), vectors: vectors(8) });
    const g2 = await client.encryptVectors({ collection: 'notes', tenant: 'globex', ids: ids('n', 8), vectors: vectors(8) });
    await client.keys.rotateDek({ collection: 'docs', tenant: 'globex' });
    const a1 = await client.encryptVectors({ collection: 'docs', tenant: 'acme', ids: ids('a', 8), vectors: vectors(8) });
    // The plaintext DEKs as they are now, to prove afterwards that no copy is left in the store.
    const deks = await Promise.all(
      (await s.store.listDeks({ tenant: 'globex' })).map((d) => globexKek.unwrap(d.wrapped, { dekId: d.dekId, keyVersion: d.version, collection: d.collection, tenant: d.tenant })),
    );
    expect(deks).toHaveLength(3);

    const receipt = await client.keys.destroy({ tenant: 'globex' });
    expect(receipt.destroyed.map((d) => `${d.collection}#${d.version}`).sort()).toEqual(['docs#1', 'docs#2', 'notes#1']);
    expect(receipt.verified).toBe(true);
    expect(receipt.keks).toEqual([expect.objectContaining({ provider: 'webcrypto', kekId: 'kek-globex', state: 'destroyed' })]);
    expect(await verifyShredReceipt(JSON.parse(JSON.stringify(receipt)), signer.publicKey)).toEqual({ ok: true, digestOk: true, signatureOk: true });
    // A receipt edited after the fact, or checked with another key, fails.
    const edited = { ...receipt, destroyed: receipt.destroyed.slice(1) };
    expect((await verifyShredReceipt(edited, signer.publicKey)).ok).toBe(false);
    expect((await verifyShredReceipt(receipt, (await signingPair()).publicKey)).signatureOk).toBe(false);

    for (const [collection, records] of [['docs', g1], ['notes', g2]] as const) {
      const out = await openAll(client, { collection, tenant: 'globex' }, records);
      for (const r of out) {
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.error).toBeInstanceOf(KeyDestroyedError);
      }
    }
    await expect(client.encryptVectors({ collection: 'docs', tenant: 'globex', ids: ['x'], vectors: vectors(1) })).rejects.toBeInstanceOf(KeyDestroyedError);
    expect((await openAll(client, { collection: 'docs', tenant: 'acme' }, a1)).every((r) => r.ok)).toBe(true);
    // The KEK itself is gone too: even the wrapped bytes a backup kept could not be unwrapped.
    await expect(globexKek.wrap(new Uint8Array(32), { dekId: 'd', keyVersion: 1, collection: 'c', tenant: 'globex' })).rejects.toBeInstanceOf(KeyStateError);

    const raw = await s.rawBytes();
    for (const dek of deks) for (const bytes of raw) expect(containsBytes(bytes, dek)).toBe(false);
    // Again (after a crash midway, say): the same shred, nothing new, still verified.
    const again = await client.keys.destroy({ tenant: 'globex' });
    expect(again.destroyed).toHaveLength(3);
    expect(again.verified).toBe(true);
    expect((await client.verifyAudit({ publicKey: signer.publicKey })).ok).toBe(true);
  });

  it('rotateKek re-wraps every DEK without touching records, and resumes after an interruption', async () => {
    const { client, s } = await setup();
    const sealed: Record<string, SealedRecord[]> = {};
    for (const tenant of ['t1', 't2', 't3', 't4']) sealed[tenant] = await client.encryptVectors({ collection: 'docs', tenant, ids: ids(tenant, 4), vectors: vectors(4) });
    const kek2 = await WebCryptoKeyProvider.generate({ kekId: 'kek-2' });
    const stop = new AbortController();
    await expect(
      client.keys.rotateKek(kek2, { signal: stop.signal, onProgress: (done) => done === 2 && stop.abort(new AbortedError('stopped by the test')) }),
    ).rejects.toBeInstanceOf(AbortedError);
    const kekIds = (await s.store.listDeks()).map((d) => d.wrapped.kekId).sort();
    expect(kekIds).toEqual(['kek-1', 'kek-1', 'kek-2', 'kek-2']);
    // Records stay as they are, and open through whichever KEK now wraps their DEK.
    for (const t of Object.keys(sealed)) expect((await openAll(client, { collection: 'docs', tenant: t }, sealed[t]!)).every((r) => r.ok)).toBe(true);

    const resumed = await client.keys.rotateKek(kek2);
    expect(resumed).toEqual({ rewrapped: 2, skipped: 2 });
    expect((await s.store.listDeks()).every((d) => d.wrapped.kekId === 'kek-2')).toBe(true);
    // A client that only has the new KEK (the old one retired) opens everything.
    const fresh = await createClient({ provider: kek2, store: await s.second(), workers: 1, channel: false });
    clients.push(fresh);
    for (const t of Object.keys(sealed)) expect((await openAll(fresh, { collection: 'docs', tenant: t }, sealed[t]!)).every((r) => r.ok)).toBe(true);
    // New DEKs are wrapped by the new KEK.
    await client.encryptVectors({ collection: 'new', tenant: 't1', ids: ['x'], vectors: vectors(1) });
    expect((await client.keys.versions({ collection: 'new', tenant: 't1' }))[0]!.wrapped.kekId).toBe('kek-2');
  });

  it('rotates a DEK automatically before it passes maxRecordsPerDek, and audits why', async () => {
    const { client } = await setup({ maxRecordsPerDek: 10 });
    const scope = { collection: 'docs', tenant: 'acme' };
    const all: SealedRecord[] = [];
    for (let i = 0; i < 6; i++) all.push(...(await client.encryptVectors({ ...scope, ids: ids(`b${i}`, 4), vectors: vectors(4) })));
    const versions = await client.keys.versions(scope);
    expect(versions.map((d) => d.sealedRecords)).toEqual([8, 8, 8]);
    expect(versions.map((d) => d.state)).toEqual(['decrypt-only', 'decrypt-only', 'active']);
    expect((await openAll(client, scope, all)).every((r) => r.ok)).toBe(true);
    await expect(client.encryptVectors({ ...scope, ids: ids('big', 11), vectors: vectors(11) })).rejects.toThrow(/maxRecordsPerDek/);
    const entries = parseJsonl(await client.exportAudit());
    expect(entries.filter((e) => e.operation === 'usage-limit')).toHaveLength(2);
  });

  it('cache limits: a DEK is wiped from the workers after maxRecords, maxBytes or maxAgeMs, then unwrapped once again', async () => {
    const provider = new CountingProvider(await WebCryptoKeyProvider.generate({ kekId: 'kek-1' }));
    const { client } = await setup({ provider, cache: { maxRecords: 10, maxAgeMs: 300 } });
    const scope = { collection: 'docs', tenant: 'acme' };
    const sealed = await client.encryptVectors({ ...scope, ids: ids('x', 10), vectors: vectors(10) });
    expect(client.cachedKeys).toBe(1);
    expect(provider.unwraps).toBe(1);
    await openAll(client, scope, sealed); // passed maxRecords: evicted, unwrapped again
    expect(provider.unwraps).toBe(2);
    const until = Date.now() + 5000;
    while (client.cachedKeys > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
    expect(client.cachedKeys).toBe(0); // maxAgeMs: the sweep wiped it without any call
    expect((await openAll(client, scope, sealed)).every((r) => r.ok)).toBe(true);
    expect(provider.unwraps).toBe(3);
    const evictions = parseJsonl(await client.exportAudit()).filter((e) => e.operation === 'cache-evict');
    expect(evictions.map((e) => e.detail).join(' ')).toMatch(/maxRecords.*maxAgeMs|maxAgeMs.*maxRecords/);

    const bytes = await setup({ cache: { maxBytes: 1000 } });
    await bytes.client.encryptVectors({ ...scope, ids: ids('y', 10), vectors: vectors(10) }); // 10 x 128 bytes
    await bytes.client.encryptVectors({ ...scope, ids: ['z'], vectors: vectors(1) });
    expect(parseJsonl(await bytes.client.exportAudit()).some((e) => e.operation === 'cache-evict' && /maxBytes/.test(e.detail ?? ''))).toBe(true);
  });

  it('concurrent opens of a cold DEK make one provider call; a reload needs one unwrap, not a new DEK', async () => {
    const base = await WebCryptoKeyProvider.generate({ kekId: 'kek-1' });
    const { client, s } = await setup({ provider: base });
    const scope = { collection: 'docs', tenant: 'acme' };
    const sealed = await client.encryptVectors({ ...scope, ids: ids('x', 40), vectors: vectors(40) });
    const counting = new CountingProvider(base);
    const reloaded = await createClient({ provider: counting, store: await s.second(), workers: 2, channel: false });
    clients.push(reloaded);
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => openAll(reloaded, scope, sealed.slice(i * 5, i * 5 + 5))));
    expect(results.flat().every((r) => r.ok)).toBe(true);
    expect(counting.unwraps).toBe(1);
    expect(await reloaded.keys.versions(scope)).toHaveLength(1);
  });

  it('policy: each denial is a PolicyError and an audited entry; tenants: own keeps principals to their tenant', async () => {
    const policy: AccessPolicy = {
      rules: [
        { actions: ['encrypt', 'decrypt'], roles: ['app'], tenants: 'own' },
        { actions: ['decrypt'], roles: ['reader'] },
        { actions: ['rotate', 'suspend', 'destroy', 'export-audit'], roles: ['key-admin'] },
        { effect: 'deny', actions: ['destroy'], collections: ['legal-hold'] },
      ],
    };
    const { client } = await setup({ policy, principal: { id: 'admin', roles: ['key-admin'] } });
    const app = client.as({ id: 'svc-acme', roles: ['app'], tenants: ['acme'] });
    const reader = client.as({ id: 'auditor', roles: ['reader'] });
    const scope = { collection: 'docs', tenant: 'acme' };
    const sealed = await app.encryptVectors({ ...scope, ids: ids('x', 3), vectors: vectors(3) });
    expect((await reader.decryptVectors({ ...scope, dimension: DIM, records: sealed })).every((r) => r.ok)).toBe(true);

    const denials: [string, Promise<unknown>][] = [
      ['encrypt', app.encryptVectors({ collection: 'docs', tenant: 'globex', ids: ['y'], vectors: vectors(1) })],
      ['encrypt', reader.encryptVectors({ ...scope, ids: ['y'], vectors: vectors(1) })],
      ['rotate', app.keys.rotateDek(scope)],
      ['suspend', reader.keys.suspend(scope)],
      ['destroy', client.keys.destroy({ collection: 'legal-hold' })],
      ['export-audit', app.exportAudit()],
    ];
    for (const [action, p] of denials) {
      const err = await p.then(() => undefined, (e: unknown) => e);
      expect(err, action).toBeInstanceOf(PolicyError);
      expect((err as PolicyError).action).toBe(action);
    }
    await expect(createClient({ provider: await WebCryptoKeyProvider.generate(), channel: false, policy: { rules: [{ actions: ['fly' as never] }] } })).rejects.toThrow(/fly/);
    const denied = parseJsonl(await client.exportAudit()).filter((e) => e.outcome === 'denied');
    expect(denied.map((e) => `${e.principal}:${e.detail?.split(':')[0]}`)).toEqual([
      'svc-acme:encrypt',
      'auditor:encrypt',
      'svc-acme:rotate',
      'auditor:suspend',
      'admin:destroy',
      'svc-acme:export-audit',
    ]);
    expect((await client.keys.versions(scope)).map((d) => d.state)).toEqual(['active']);
  });

  it('audits every operation with who did it, holds no key bytes, verifies, and shows an edited entry', async () => {
    const signer = await signingPair();
    const kekBytes = crypto.getRandomValues(new Uint8Array(32));
    const provider = await WebCryptoKeyProvider.importRaw(kekBytes, { kekId: 'kek-raw' });
    const { client, s } = await setup({ provider, audit: { signer: signer.privateKey, checkpointEvery: 5 }, principal: { id: 'alice' } });
    const scope = { collection: 'docs', tenant: 'acme' };
    const sealed = await client.encryptVectors({ ...scope, ids: ids('x', 6), vectors: vectors(6) });
    await openAll(client, scope, sealed);
    await client.keys.rotateDek(scope);
    await client.keys.suspend(scope);
    await client.keys.resume(scope);
    const kek2 = await WebCryptoKeyProvider.generate({ kekId: 'kek-2' });
    await client.keys.rotateKek(kek2);
    await client.keys.destroy({ collection: 'docs', tenant: 'acme', version: 1 });
    const jsonl = await client.exportAudit();
    const entries = parseJsonl(jsonl);
    const ops = new Set(entries.map((e) => e.operation));
    for (const op of ['generate', 'cache-miss', 'unwrap', 'seal', 'open', 'rotate-dek', 'state-change', 'rotate-kek', 'destroy']) expect(ops, op).toContain(op);
    expect(entries.filter((e) => e.operation !== 'checkpoint' && e.principal !== 'alice').map((e) => `${e.operation} ${e.principal}`)).toEqual([]);
    expect(entries.find((e) => e.operation === 'seal')).toMatchObject({ keyRef: 'dek/acme/docs#1', collection: 'docs', tenant: 'acme', outcome: 'ok', records: 6 });
    expect(entries.some((e) => e.checkpoint !== undefined)).toBe(true);

    // No key bytes: not the KEK, not any DEK, in any encoding, in the log or in the stored lines.
    const live = (await s.store.listDeks()).filter((d) => d.state !== 'destroyed');
    expect(live).toHaveLength(1);
    const secrets = [kekBytes, ...(await Promise.all(live.map((d) => kek2.unwrap(d.wrapped, { dekId: d.dekId, keyVersion: d.version, collection: d.collection, tenant: d.tenant }))))];
    const stored = (await s.store.readAudit()).map((l) => l.line).join('\n');
    for (const secret of secrets) for (const form of encodings(secret)) {
      expect(jsonl.includes(form)).toBe(false);
      expect(stored.includes(form)).toBe(false);
    }

    expect(await client.verifyAudit({ publicKey: signer.publicKey })).toMatchObject({ ok: true, signaturesChecked: true });
    const lines = jsonl.trimEnd().split('\n');
    const i = lines.findIndex((l) => l.includes('"operation":"destroy"'));
    lines[i] = lines[i]!.replace('"outcome":"ok"', '"outcome":"failed"');
    const broken = await verifyAuditLog(lines.join('\n') + '\n', { publicKey: signer.publicKey });
    expect(broken.ok).toBe(false);
    expect(broken.problems[0]).toMatchObject({ kind: 'edited', seq: entries[i]!.seq });
    const shortened = await verifyAuditLog(lines.slice(0, 2).join('\n') + '\n', { publicKey: signer.publicKey, checkpoint: [...entries].reverse().find((e) => e.checkpoint)!.checkpoint });
    expect(shortened.ok).toBe(false);
  });

  it('fails closed: when the audit log cannot be written, the operation fails and returns nothing', async () => {
    const s = await openStore();
    opened.push(s);
    const store = failingAudit(s.store);
    const provider = await WebCryptoKeyProvider.generate();
    const client = await createClient({ provider, store, workers: 1, channel: false });
    clients.push(client);
    const scope = { collection: 'docs', tenant: 'acme' };
    const sealed = await client.encryptVectors({ ...scope, ids: ids('x', 3), vectors: vectors(3) });
    store.failing = true;
    await expect(client.encryptVectors({ ...scope, ids: ['y'], vectors: vectors(1) })).rejects.toThrow();
    await expect(client.decryptVectors({ ...scope, dimension: DIM, records: sealed })).rejects.toThrow();
    await expect(client.keys.rotateDek(scope)).rejects.toThrow();
    store.failing = false;
    expect((await openAll(client, scope, sealed)).every((r) => r.ok)).toBe(true);
    expect((await client.verifyAudit({ publicKey: null })).ok).toBe(true);
  });

  it('reencrypt moves records to the newest version in pages, keeps text and metadata, leaves a tampered record, and resumes after abort', async () => {
    const { client } = await setup();
    const scope = { collection: 'docs', tenant: 'acme' };
    const plain = vectors(300).map((vector, i) => ({ id: `r-${i}`, vector, text: `text ${i}`, metadata: { n: i } }));
    const rows = (await client.encryptRecords({ ...scope, records: plain })).map((r) => ({ id: r.id, ciphertext: r.ciphertext }));
    rows[7]!.ciphertext[rows[7]!.ciphertext.length - 1]! ^= 1;
    const tampered = rows[7]!.ciphertext.slice();
    await client.keys.rotateDek(scope);
    const table = new Map(rows.map((r) => [r.id, r]));
    const order = rows.map((r) => r.id);
    const job = {
      ...scope,
      dimension: DIM,
      jobId: 'move-to-v2',
      batchSize: 50,
      read: async (cursor: string | undefined, limit: number) => {
        const at = Number(cursor ?? 0);
        const page = order.slice(at, at + limit).map((id) => table.get(id)!);
        return { records: page, next: at + limit < order.length ? String(at + limit) : undefined };
      },
      write: async (records: { id: string; ciphertext: Uint8Array }[]) => {
        for (const r of records) table.set(r.id, r);
      },
    };
    const stop = new AbortController();
    const progress: number[] = [];
    await expect(
      client.reencrypt({ ...job, signal: stop.signal, onProgress: (p) => (progress.push(p.read), p.read >= 100 && stop.abort(new AbortedError('stopped by the test'))) }),
    ).rejects.toBeInstanceOf(AbortedError);
    expect(progress).toEqual([50, 100]);
    const result = await client.reencrypt({ ...job, onProgress: (p) => progress.push(p.read) });
    expect(result).toMatchObject({ jobId: 'move-to-v2', resumed: true, toVersion: 2, read: 300, failed: 1, failures: [{ id: 'r-7' }] });
    expect(result.rewritten + result.current).toBe(299);
    expect(table.get('r-7')!.ciphertext).toEqual(tampered);
    const after = [...table.values()];
    expect(after.filter((r) => recordKeyVersion(r.ciphertext) === 2)).toHaveLength(299);
    const back = await client.decryptRecords({ ...scope, dimension: DIM, records: after });
    back.forEach((r, i) => {
      if (r.id === 'r-7') return expect(r.ok).toBe(false);
      expect(r.ok).toBe(true);
      if (r.ok) expect([r.text, r.metadata, Array.from(r.vector)]).toEqual([plain[i]!.text, plain[i]!.metadata, Array.from(plain[i]!.vector)]);
    });
    // v1 can now be destroyed without losing a record that opened before.
    await client.keys.destroy({ ...scope, version: 1 });
    expect((await client.decryptRecords({ ...scope, dimension: DIM, records: after })).filter((r) => r.ok)).toHaveLength(299);
    // The finished job again: its result, no work. A new job over the same table: nothing left to move.
    let writes = 0;
    const counted = { ...job, write: async (records: { id: string; ciphertext: Uint8Array }[]) => ((writes += records.length), job.write(records)) };
    expect(await client.reencrypt(counted)).toEqual({ ...result, resumed: false });
    expect(await client.reencrypt({ ...counted, jobId: 'check-again' })).toMatchObject({ resumed: false, rewritten: 0, current: 299, failed: 1, failures: [{ id: 'r-7' }] });
    expect(writes).toBe(0);
  });
});

function containsBytes(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

function encodings(bytes: Uint8Array): string[] {
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  const b64 = btoa(String.fromCharCode(...bytes));
  return [hex, hex.toUpperCase(), b64, b64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')];
}
