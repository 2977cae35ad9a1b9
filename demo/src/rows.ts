/**
 * Where the demo keeps its sealed rows: IndexedDB (through idb) or PGlite, Postgres compiled to
 * WebAssembly, persisted in IndexedDB. Either way the database holds an id, a tenant and the
 * ciphertext: the word and its vector exist only inside the sealed bytes.
 */
import { openDB, deleteDB, type IDBPDatabase } from 'idb';

export type RowStoreKind = 'indexeddb' | 'pglite';

export interface SealedRow {
  id: string;
  tenant: string;
  ciphertext: Uint8Array;
}

export interface RowStore {
  readonly kind: RowStoreKind;
  /** What the page shows as the place the rows live. */
  readonly where: string;
  /** Inserts or replaces rows by id, all in one transaction: nothing is half written. */
  putAll(rows: readonly SealedRow[]): Promise<void>;
  byTenant(tenant: string): Promise<SealedRow[]>;
  /** Up to `limit` rows of a tenant with ids after `after`, in id order (for re-encryption jobs). */
  page(tenant: string, after: string | undefined, limit: number): Promise<SealedRow[]>;
  /** Rows per tenant. */
  counts(): Promise<Map<string, number>>;
  /** The first rows of a tenant as the database itself shows them. */
  peek(tenant: string, limit: number): Promise<{ id: string; tenant: string; bytes: number; head: Uint8Array }[]>;
  close(): Promise<void>;
}

const IDB_NAME = 'vecseal-demo-rows';
const PGLITE_DIR = 'idb://vecseal-demo-pglite';
const INSERT_BATCH = 500;

export async function openRowStore(kind: RowStoreKind): Promise<RowStore> {
  return kind === 'pglite' ? openPgliteRows() : openIdbRows();
}

/** Deletes both databases (the demo's Reset). */
export async function deleteRowStores(): Promise<void> {
  await deleteDB(IDB_NAME);
  // PGlite names its IndexedDB database after the path, with a prefix of its own: find it by name.
  const pgName = PGLITE_DIR.slice('idb://'.length);
  const names = (await indexedDB.databases()).map((d) => d.name ?? '').filter((n) => n.endsWith(pgName));
  for (const name of names) await deleteDB(name);
}

interface RowsDb {
  rows: { key: string; value: SealedRow; indexes: { tenant: string } };
}

async function openIdbRows(): Promise<RowStore> {
  const db: IDBPDatabase<RowsDb> = await openDB<RowsDb>(IDB_NAME, 1, {
    upgrade(d) {
      d.createObjectStore('rows', { keyPath: 'id' }).createIndex('tenant', 'tenant');
    },
  });
  return {
    kind: 'indexeddb',
    where: `IndexedDB database "${IDB_NAME}", object store "rows"`,
    async putAll(rows) {
      const tx = db.transaction('rows', 'readwrite');
      for (const r of rows) void tx.store.put({ id: r.id, tenant: r.tenant, ciphertext: r.ciphertext });
      await tx.done;
    },
    byTenant: (tenant) => db.getAllFromIndex('rows', 'tenant', tenant),
    async page(tenant, after, limit) {
      // The demo's ids start with the tenant's name, so a tenant's rows are one range of the primary key.
      const range = after === undefined ? IDBKeyRange.bound(`${tenant}-`, `${tenant}-\uffff`) : IDBKeyRange.bound(after, `${tenant}-\uffff`, true);
      return (await db.getAll('rows', range, limit)).filter((r) => r.tenant === tenant);
    },
    async counts() {
      // The distinct tenants first (nothing else may be awaited while the cursor's transaction is open), then a count each.
      const tenants: string[] = [];
      let cursor = await db.transaction('rows').store.index('tenant').openKeyCursor(null, 'nextunique');
      while (cursor) {
        tenants.push(String(cursor.key));
        cursor = await cursor.continue();
      }
      const out = new Map<string, number>();
      for (const t of tenants) out.set(t, await db.countFromIndex('rows', 'tenant', t));
      return out;
    },
    async peek(tenant, limit) {
      const rows = await db.getAllFromIndex('rows', 'tenant', tenant, limit);
      return rows.map((r) => ({ id: r.id, tenant: r.tenant, bytes: r.ciphertext.length, head: r.ciphertext.subarray(0, 32) }));
    },
    close: async () => db.close(),
  };
}

async function openPgliteRows(): Promise<RowStore> {
  // Loaded on demand: the Postgres image is several megabytes the IndexedDB choice never needs.
  const { PGlite } = await import('@electric-sql/pglite');
  const db = await PGlite.create(PGLITE_DIR);
  await db.exec('CREATE TABLE IF NOT EXISTS sealed_rows (id text PRIMARY KEY, tenant text NOT NULL, ciphertext bytea NOT NULL); CREATE INDEX IF NOT EXISTS sealed_rows_tenant ON sealed_rows (tenant);');
  return {
    kind: 'pglite',
    where: `PGlite (Postgres in WebAssembly) persisted as ${PGLITE_DIR}, table sealed_rows`,
    async putAll(rows) {
      await db.transaction(async (tx) => {
        for (let i = 0; i < rows.length; i += INSERT_BATCH) {
          const batch = rows.slice(i, i + INSERT_BATCH);
          const values = batch.map((_, j) => `($${3 * j + 1}, $${3 * j + 2}, $${3 * j + 3})`).join(', ');
          await tx.query(
            `INSERT INTO sealed_rows (id, tenant, ciphertext) VALUES ${values} ON CONFLICT (id) DO UPDATE SET tenant = EXCLUDED.tenant, ciphertext = EXCLUDED.ciphertext`,
            batch.flatMap((r) => [r.id, r.tenant, r.ciphertext]),
          );
        }
      });
    },
    async byTenant(tenant) {
      const res = await db.query<SealedRow>('SELECT id, tenant, ciphertext FROM sealed_rows WHERE tenant = $1 ORDER BY id', [tenant]);
      return res.rows;
    },
    async page(tenant, after, limit) {
      const res = await db.query<SealedRow>('SELECT id, tenant, ciphertext FROM sealed_rows WHERE tenant = $1 AND id > $2 ORDER BY id LIMIT $3', [tenant, after ?? '', limit]);
      return res.rows;
    },
    async counts() {
      const res = await db.query<{ tenant: string; n: number }>('SELECT tenant, count(*)::int AS n FROM sealed_rows GROUP BY tenant ORDER BY tenant');
      return new Map(res.rows.map((r) => [r.tenant, r.n]));
    },
    async peek(tenant, limit) {
      const res = await db.query<{ id: string; tenant: string; bytes: number; head: Uint8Array }>(
        'SELECT id, tenant, octet_length(ciphertext) AS bytes, substring(ciphertext FROM 1 FOR 32) AS head FROM sealed_rows WHERE tenant = $1 ORDER BY id LIMIT $2',
        [tenant, limit],
      );
      return res.rows;
    },
    close: () => db.close(),
  };
}
