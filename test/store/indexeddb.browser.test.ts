/**
 * IndexedDbKeyStore in real browsers (Chromium, Firefox ESR, WebKitGTK): the store conformance suite,
 * with second() as another IndexedDB connection (what another tab holds) and rawBytes() read back
 * with raw IndexedDB cursors; then what is particular to IndexedDB: the stored row shape, corrupt
 * rows, connections closed by a delete from elsewhere, and many connections racing one audit seq.
 */
import { deleteDB } from 'idb';
import { afterAll, describe, expect, it } from 'vitest';
import { ClosedError, FormatError, InvalidInputError } from '../../src/errors.js';
import { WebCryptoKeyProvider } from '../../src/kms/webcrypto.js';
import { IndexedDbKeyStore } from '../../src/store/indexeddb.js';
import type { StoredDek } from '../../src/store/store.js';
import { runStoreSuite } from './_store-suite.js';

const encoder = new TextEncoder();
const usedNames: string[] = [];

function freshName(): string {
  const name = `vecseal-keystore-test-${crypto.randomUUID()}`;
  usedNames.push(name);
  return name;
}

function rawOpen(name: string): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(name);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** Every value of every object store, by raw cursors (not through the store's own code). */
async function rawValues(name: string): Promise<Record<string, unknown[]>> {
  const db = await rawOpen(name);
  try {
    const out: Record<string, unknown[]> = {};
    for (const storeName of Array.from(db.objectStoreNames)) {
      out[storeName] = await new Promise<unknown[]>((resolve, reject) => {
        const values: unknown[] = [];
        const req = db.transaction(storeName, 'readonly').objectStore(storeName).openCursor();
        req.onsuccess = () => {
          const cursor = req.result;
          if (!cursor) return resolve(values);
          values.push(cursor.key, cursor.value);
          cursor.continue();
        };
        req.onerror = () => reject(req.error);
      });
    }
    return out;
  } finally {
    db.close();
  }
}

/** Structured values to bytes: byte arrays as they are, strings as UTF-8, the rest as text. */
function serialize(value: unknown, out: Uint8Array[]): void {
  if (value instanceof Uint8Array) out.push(value.slice());
  else if (value instanceof ArrayBuffer) out.push(new Uint8Array(value));
  else if (typeof value === 'string') out.push(encoder.encode(value));
  else if (Array.isArray(value)) for (const v of value) serialize(v, out);
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      out.push(encoder.encode(k));
      serialize(v, out);
    }
  } else out.push(encoder.encode(String(value)));
}

function rawPut(name: string, storeName: string, value: unknown): Promise<void> {
  return rawOpen(name).then(
    (db) =>
      new Promise<void>((resolve, reject) => {
        const tx = db.transaction(storeName, 'readwrite');
        tx.objectStore(storeName).put(value);
        tx.oncomplete = () => (db.close(), resolve());
        tx.onerror = () => (db.close(), reject(tx.error));
      }),
  );
}

afterAll(async () => {
  for (const name of usedNames) await deleteDB(name);
});

runStoreSuite('indexeddb', async () => {
  const databaseName = freshName();
  let store = await IndexedDbKeyStore.open({ databaseName });
  return {
    store,
    second: () => IndexedDbKeyStore.open({ databaseName }),
    reopen: async () => {
      await store.close();
      store = await IndexedDbKeyStore.open({ databaseName });
      return store;
    },
    rawBytes: async () => {
      const out: Uint8Array[] = [];
      serialize(await rawValues(databaseName), out);
      return out;
    },
  };
});

describe('IndexedDbKeyStore', () => {
  let provider: WebCryptoKeyProvider;
  const entry = async (dekId: string, version = 1): Promise<StoredDek> => {
    provider ??= await WebCryptoKeyProvider.generate({ kekId: 'k' });
    const dek = crypto.getRandomValues(new Uint8Array(32));
    const wrapped = await provider.wrap(dek, { dekId, keyVersion: version, collection: 'docs', tenant: 't' });
    return { dekId, version, collection: 'docs', tenant: 't', state: 'active', wrapped, createdAt: new Date().toISOString() };
  };

  it('keeps a DEK row as metadata plus the wrapped key in its "VSWK" binary form', async () => {
    const databaseName = freshName();
    const store = await IndexedDbKeyStore.open({ databaseName });
    try {
      const e = await entry('dek/t/docs');
      await store.createDek(e);
      const { deks } = await rawValues(databaseName);
      expect(deks![0]).toEqual(['dek/t/docs', 1]);
      const row = deks![1] as Record<string, unknown>;
      expect(Object.keys(row).sort()).toEqual(['collection', 'createdAt', 'dekId', 'state', 'tenant', 'version', 'wrapped']);
      const wrapped = row.wrapped as Uint8Array;
      expect(wrapped).toBeInstanceOf(Uint8Array);
      expect(Array.from(wrapped.subarray(0, 4))).toEqual([0x56, 0x53, 0x57, 0x4b]);
    } finally {
      await store.close();
    }
  });

  it('refuses a row whose wrapped bytes were damaged with FormatError, not a half-read key', async () => {
    const databaseName = freshName();
    const store = await IndexedDbKeyStore.open({ databaseName });
    try {
      const e = await entry('dek/t/docs');
      await store.createDek(e);
      const { deks } = await rawValues(databaseName);
      const row = deks![1] as { wrapped: Uint8Array };
      await rawPut(databaseName, 'deks', { ...row, wrapped: row.wrapped.subarray(0, row.wrapped.length - 3) });
      await expect(store.getDek('dek/t/docs', 1)).rejects.toBeInstanceOf(FormatError);
      await expect(store.updateDek('dek/t/docs', 1, { state: 'suspended' }, { wrappedChecksum: e.wrapped.checksum })).rejects.toBeInstanceOf(FormatError);
    } finally {
      await store.close();
    }
  });

  it('checks arguments before it writes anything', async () => {
    const databaseName = freshName();
    const store = await IndexedDbKeyStore.open({ databaseName });
    try {
      const e = await entry('dek/t/docs');
      await expect(store.createDek({ ...e, version: 1.5 })).rejects.toBeInstanceOf(InvalidInputError);
      await expect(store.createDek({ ...e, state: 'gone' as never })).rejects.toBeInstanceOf(InvalidInputError);
      await expect(store.createDek({ ...e, wrapped: { ...e.wrapped, checksum: new Uint8Array(3) } })).rejects.toBeInstanceOf(InvalidInputError);
      await expect(store.appendAudit({ seq: 0, line: '{}' })).rejects.toBeInstanceOf(InvalidInputError);
      await expect(store.addUsage('dek/t/docs', 1, -1)).rejects.toBeInstanceOf(InvalidInputError);
      await expect(store.setMeta('', 'x')).rejects.toBeInstanceOf(InvalidInputError);
      expect((await rawValues(databaseName)).deks).toEqual([]);
      expect((await rawValues(databaseName)).audit).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('lets another connection delete the database: it closes itself, and then says so', async () => {
    const databaseName = freshName();
    const store = await IndexedDbKeyStore.open({ databaseName });
    await store.createDek(await entry('dek/t/docs'));
    // Without the store's versionchange handler the open connection would hold this delete back forever.
    let blocked = false;
    const deleted = deleteDB(databaseName, { blocked: () => void (blocked = true) });
    const settled = await Promise.race([deleted.then(() => true), new Promise((r) => setTimeout(() => r(false), 5_000))]);
    if (!settled) await store.close(); // let the delete finish before failing
    await deleted;
    expect(blocked).toBe(false);
    expect(settled).toBe(true);
    await expect(store.getDek('dek/t/docs', 1)).rejects.toBeInstanceOf(ClosedError);
    const again = await IndexedDbKeyStore.open({ databaseName });
    expect(await again.listDeks()).toEqual([]);
    await again.close();
    await expect(again.listDeks()).rejects.toBeInstanceOf(ClosedError);
  });

  it('keeps databases apart by name', async () => {
    const [a, b] = [await IndexedDbKeyStore.open({ databaseName: freshName() }), await IndexedDbKeyStore.open({ databaseName: freshName() })];
    try {
      await a.createDek(await entry('dek/t/docs'));
      expect(await a.appendAudit({ seq: 1, line: '{}' })).toBe(true);
      expect(await b.listDeks()).toEqual([]);
      expect(await b.appendAudit({ seq: 2, line: '{}' })).toBe(false);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('many connections racing for each next audit seq: exactly one wins each, no gaps', async () => {
    const databaseName = freshName();
    const handles = await Promise.all(Array.from({ length: 4 }, () => IndexedDbKeyStore.open({ databaseName })));
    try {
      for (let seq = 1; seq <= 10; seq++) {
        const wins = await Promise.all(handles.map((h, i) => h.appendAudit({ seq, line: JSON.stringify({ seq, writer: i }) })));
        expect(wins.filter(Boolean).length).toBe(1);
      }
      expect((await handles[3]!.readAudit()).map((l) => l.seq)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    } finally {
      for (const h of handles) await h.close();
    }
  });
});
