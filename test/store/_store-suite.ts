/**
 * runStoreSuite: the conformance suite every KeyStore passes (issue 5). DEK versions (create once,
 * compare-and-set updates, listing), atomic usage counters, the gap-free audit sequence, meta values
 * with compare-and-set, exact round trip of wrapped keys (multi parts included), races between two
 * handles on the same backing store, persistence across a reopen, and a scan of every stored byte
 * for the plaintext DEKs. Portable where the store is.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MultiKeyProvider } from '../../src/kms/multi.js';
import type { WrappedKey } from '../../src/kms/provider.js';
import { WebCryptoKeyProvider } from '../../src/kms/webcrypto.js';
import type { KeyStore, StoredDek } from '../../src/store/store.js';

export interface StoreHarness {
  store: KeyStore;
  /** A second handle on the same backing store (another tab or process). */
  second(): Promise<KeyStore>;
  /** Closes `store` and opens the backing store again; absent for stores that do not persist. */
  reopen?(): Promise<KeyStore>;
  /** Every byte the store has written (files, rows, IndexedDB values), for the plaintext scan. */
  rawBytes(): Promise<Uint8Array[]>;
  cleanup?(): Promise<void>;
}

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

export function runStoreSuite(name: string, setup: () => Promise<StoreHarness>): void {
  describe(`KeyStore conformance: ${name}`, () => {
    let h: StoreHarness;
    let store: KeyStore;
    const deks: Uint8Array[] = [];
    let provider: MultiKeyProvider;

    const entry = async (dekId: string, version: number, extra: Partial<StoredDek> = {}): Promise<StoredDek> => {
      const dek = crypto.getRandomValues(new Uint8Array(32));
      deks.push(dek.slice());
      const [collection, tenant] = [extra.collection ?? 'docs', extra.tenant ?? 'acme'];
      const wrapped = await provider.wrap(dek, { dekId, keyVersion: version, collection, tenant });
      return { dekId, version, collection, tenant, state: 'active', wrapped, createdAt: new Date(1700000000000 + version).toISOString(), ...extra };
    };

    beforeAll(async () => {
      provider = new MultiKeyProvider({ providers: [await WebCryptoKeyProvider.generate({ kekId: 'a' }), await WebCryptoKeyProvider.generate({ kekId: 'b', algorithm: 'A256KW' })] });
      h = await setup();
      store = h.store;
    });
    afterAll(async () => {
      await store?.close?.();
      await h?.cleanup?.();
    });

    it('creates a version once, reads it back exactly, lists versions oldest first', async () => {
      const v2 = await entry('dek/acme/docs', 2);
      const v1 = await entry('dek/acme/docs', 1);
      expect(await store.createDek(v2)).toBe(true);
      expect(await store.createDek(v1)).toBe(true);
      expect(await store.createDek({ ...v1, state: 'suspended' })).toBe(false);
      const back = await store.getDek('dek/acme/docs', 1);
      expect(back).toEqual(v1);
      expect((back!.wrapped as WrappedKey).parts?.length).toBe(2);
      expect((await store.listDekVersions('dek/acme/docs')).map((d) => d.version)).toEqual([1, 2]);
      expect(await store.getDek('dek/acme/docs', 3)).toBeUndefined();
      expect(await store.listDekVersions('dek/none')).toEqual([]);
      // The returned object is a copy: changing it changes nothing stored.
      back!.state = 'destroyed';
      back!.wrapped.bytes.fill(0);
      expect(await store.getDek('dek/acme/docs', 1)).toEqual(v1);
    });

    it('lists every DEK, filtered by collection and tenant', async () => {
      await store.createDek(await entry('dek/beta/docs', 1, { tenant: 'beta' }));
      await store.createDek(await entry('dek/acme/notes', 1, { collection: 'notes' }));
      const all = await store.listDeks();
      expect(all.map((d) => `${d.dekId}#${d.version}`)).toEqual(['dek/acme/docs#1', 'dek/acme/docs#2', 'dek/acme/notes#1', 'dek/beta/docs#1']);
      expect((await store.listDeks({ tenant: 'beta' })).map((d) => d.dekId)).toEqual(['dek/beta/docs']);
      expect((await store.listDeks({ collection: 'notes' })).map((d) => d.dekId)).toEqual(['dek/acme/notes']);
      expect(await store.listDeks({ collection: 'docs', tenant: 'nobody' })).toEqual([]);
    });

    it('updates with compare-and-set on state and wrapped checksum', async () => {
      const current = (await store.getDek('dek/acme/docs', 1))!;
      expect(await store.updateDek('dek/acme/docs', 1, { state: 'decrypt-only', updatedAt: '2026-01-01T00:00:00.000Z' }, { state: 'suspended' })).toBe(false);
      expect(await store.updateDek('dek/acme/docs', 1, { state: 'decrypt-only', updatedAt: '2026-01-01T00:00:00.000Z' }, { state: 'active' })).toBe(true);
      expect((await store.getDek('dek/acme/docs', 1))!.state).toBe('decrypt-only');
      expect((await store.getDek('dek/acme/docs', 1))!.updatedAt).toBe('2026-01-01T00:00:00.000Z');
      const rewrapped = (await entry('dek/acme/docs', 1)).wrapped;
      expect(await store.updateDek('dek/acme/docs', 1, { wrapped: rewrapped }, { wrappedChecksum: new Uint8Array(16) })).toBe(false);
      expect(await store.updateDek('dek/acme/docs', 1, { wrapped: rewrapped }, { wrappedChecksum: current.wrapped.checksum })).toBe(true);
      expect((await store.getDek('dek/acme/docs', 1))!.wrapped).toEqual(rewrapped);
      expect(await store.updateDek('dek/none', 1, { state: 'active' })).toBe(false);
    });

    it('only one of two racing handles wins a create or a state change', async () => {
      const other = await h.second();
      try {
        const a = await entry('dek/race/docs', 1);
        const results = await Promise.all([store.createDek(a), other.createDek({ ...a, state: 'suspended' }), store.createDek(a), other.createDek(a)]);
        expect(results.filter(Boolean).length).toBe(1);
        const seen = (await store.getDek('dek/race/docs', 1))!.state;
        const moves = await Promise.all([
          store.updateDek('dek/race/docs', 1, { state: 'decrypt-only' }, { state: seen }),
          other.updateDek('dek/race/docs', 1, { state: 'destroyed' }, { state: seen }),
        ]);
        expect(moves.filter(Boolean).length).toBe(1);
      } finally {
        await other.close?.();
      }
    });

    it('counts usage atomically, also from two handles at once', async () => {
      await store.createDek(await entry('dek/usage/docs', 1));
      const other = await h.second();
      try {
        const totals = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? other : store).addUsage('dek/usage/docs', 1, 3)));
        expect(Math.max(...(totals as number[]))).toBe(150);
        expect(new Set(totals).size).toBe(50);
        expect((await store.getDek('dek/usage/docs', 1))!.sealedRecords).toBe(150);
        expect(await store.addUsage('dek/none', 1, 1)).toBeUndefined();
      } finally {
        await other.close?.();
      }
    });

    it('appends audit lines with a gap-free sequence; racing writers of one seq: one wins', async () => {
      expect(await store.appendAudit({ seq: 2, line: '{"x":2}' })).toBe(false);
      expect(await store.appendAudit({ seq: 1, line: '{"x":1}' })).toBe(true);
      const other = await h.second();
      try {
        const race = await Promise.all([store.appendAudit({ seq: 2, line: '{"a":2}' }), other.appendAudit({ seq: 2, line: '{"b":2}' })]);
        expect(race.filter(Boolean).length).toBe(1);
      } finally {
        await other.close?.();
      }
      for (let seq = 3; seq <= 20; seq++) expect(await store.appendAudit({ seq, line: JSON.stringify({ seq, text: 'é ✓ "quoted"\n' }) })).toBe(true);
      const all = await store.readAudit();
      expect(all.map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      expect(JSON.parse(all[9]!.line)).toEqual({ seq: 10, text: 'é ✓ "quoted"\n' });
      expect((await store.readAudit(18)).map((e) => e.seq)).toEqual([18, 19, 20]);
      expect((await store.readAudit(5, 2)).map((e) => e.seq)).toEqual([5, 6]);
      expect(await store.readAudit(21)).toEqual([]);
    });

    it('keeps meta values with compare-and-set (null: only if absent)', async () => {
      expect(await store.getMeta('m')).toBeUndefined();
      expect(await store.setMeta('m', 'one', 'zero')).toBe(false);
      expect(await store.setMeta('m', 'one', null)).toBe(true);
      expect(await store.setMeta('m', 'two', null)).toBe(false);
      expect(await store.setMeta('m', 'two', 'one')).toBe(true);
      expect(await store.setMeta('m', 'three')).toBe(true);
      expect(await store.getMeta('m')).toBe('three');
      const big = 'x'.repeat(100_000);
      expect(await store.setMeta('big', big)).toBe(true);
      expect(await store.getMeta('big')).toBe(big);
    });

    it('survives a reopen with everything in it (persistent stores)', async () => {
      if (!h.reopen) {
        expect(name).toMatch(/memory/); // only the in-memory store has nothing to reopen
        return;
      }
      const before = { deks: await store.listDeks(), audit: await store.readAudit(), meta: await store.getMeta('m') };
      store = await h.reopen();
      expect(await store.listDeks()).toEqual(before.deks);
      expect(await store.readAudit()).toEqual(before.audit);
      expect(await store.getMeta('m')).toBe(before.meta);
      expect(await store.appendAudit({ seq: before.audit.length + 1, line: '{}' })).toBe(true);
    });

    it('never holds a plaintext DEK: every stored byte scanned', async () => {
      expect(deks.length).toBeGreaterThan(5);
      const raw = await h.rawBytes();
      expect(raw.reduce((n, b) => n + b.length, 0)).toBeGreaterThan(1000);
      const text = new TextDecoder('latin1').decode(new Uint8Array(raw.flatMap((b) => Array.from(b))));
      for (const d of deks) {
        for (const blob of raw) expect(contains(blob, d)).toBe(false);
        expect(text.toLowerCase()).not.toContain(hex(d));
        expect(text).not.toContain(btoa(String.fromCharCode(...d)).slice(0, 40));
      }
    });
  });
}
