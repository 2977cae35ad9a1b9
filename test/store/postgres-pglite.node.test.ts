/**
 * PostgresKeyStore on PGlite (PostgreSQL compiled to WebAssembly, with its data directory on disk):
 * the store conformance suite (second() = another store on the same PGlite instance, reopen() =
 * PGlite closed and started again on its data directory), then the schema option, the stored column
 * forms, damaged rows, database errors as ProviderError, and closing.
 */
import { PGlite } from '@electric-sql/pglite';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClosedError, FormatError, InvalidInputError, ProviderError } from '../../src/errors.js';
import { PostgresKeyStore } from '../../src/store/postgres.js';
import type { StoredDek } from '../../src/store/store.js';
import { tableBytes } from './_postgres.js';
import { runStoreSuite } from './_store-suite.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

runStoreSuite('postgres (PGlite)', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'vecseal-pglite-'));
  dirs.push(dataDir);
  let db = await PGlite.create(dataDir);
  let store = await PostgresKeyStore.open({ client: db });
  return {
    store,
    second: () => PostgresKeyStore.open({ client: db }),
    reopen: async () => {
      await store.close();
      await db.close();
      db = await PGlite.create(dataDir);
      store = await PostgresKeyStore.open({ client: db });
      return store;
    },
    rawBytes: () => tableBytes(db, 'vecseal'),
    cleanup: () => db.close(),
  };
});

const random = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));
function fakeDek(dekId: string, version = 1): StoredDek {
  const wrapped = { provider: 'test', kekId: 'kek', algorithm: 'A256GCM', bytes: random(60), contextDigest: random(16), checksum: random(16) };
  return { dekId, version, collection: 'docs', tenant: 't', state: 'active', wrapped, createdAt: new Date().toISOString() };
}

describe('PostgresKeyStore on PGlite', () => {
  let db: PGlite;
  beforeAll(async () => {
    db = await PGlite.create();
  });
  afterAll(async () => {
    await db.close();
  });

  it('keeps separate schemas apart and refuses a schema name that would need quoting', async () => {
    const [a, b] = [await PostgresKeyStore.open({ client: db, schema: 'tenant_a' }), await PostgresKeyStore.open({ client: db, schema: 'tenant_b' })];
    expect(await a.createDek(fakeDek('dek/x'))).toBe(true);
    expect(await a.appendAudit({ seq: 1, line: '{}' })).toBe(true);
    expect(await b.listDeks()).toEqual([]);
    expect(await b.appendAudit({ seq: 2, line: '{}' })).toBe(false);
    for (const schema of ['Tenant', 'a"; DROP TABLE x; --', 'a b', '', '9lives', 'x'.repeat(64)]) {
      await expect(PostgresKeyStore.open({ client: db, schema })).rejects.toBeInstanceOf(InvalidInputError);
    }
    await expect(PostgresKeyStore.open({ client: {} as never })).rejects.toBeInstanceOf(InvalidInputError);
  });

  it('opens the same new schema from several stores at once without a DDL race', async () => {
    const stores = await Promise.all(Array.from({ length: 5 }, () => PostgresKeyStore.open({ client: db, schema: 'raced' })));
    expect(await stores[0]!.createDek(fakeDek('dek/r'))).toBe(true);
    expect((await stores[4]!.listDeks()).map((d) => d.dekId)).toEqual(['dek/r']);
  });

  it('stores the wrapped key as "VSWK" bytea with its checksum in a column, counters as bigint', async () => {
    const store = await PostgresKeyStore.open({ client: db, schema: 'columns' });
    const e = fakeDek('dek/c');
    await store.createDek(e);
    await store.addUsage('dek/c', 1, 2 ** 40);
    const { rows } = await db.query<Record<string, unknown>>('SELECT * FROM columns.deks');
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    expect(Array.from((row.wrapped as Uint8Array).subarray(0, 4))).toEqual([0x56, 0x53, 0x57, 0x4b]);
    expect(row.wrapped_checksum).toEqual(e.wrapped.checksum);
    expect(row.updated_at).toBeNull();
    expect((await store.getDek('dek/c', 1))!.sealedRecords).toBe(2 ** 40);
    expect(await store.addUsage('dek/c', 1, 1)).toBe(2 ** 40 + 1);
  });

  it('refuses a row whose wrapped bytes were damaged with FormatError', async () => {
    const store = await PostgresKeyStore.open({ client: db, schema: 'damaged' });
    await store.createDek(fakeDek('dek/d'));
    await db.query(`UPDATE damaged.deks SET wrapped = substring(wrapped from 1 for length(wrapped) - 3)`);
    await expect(store.getDek('dek/d', 1)).rejects.toBeInstanceOf(FormatError);
  });

  it('turns database errors into ProviderError with the SQLSTATE, and checks arguments first', async () => {
    const store = await PostgresKeyStore.open({ client: db, schema: 'errors' });
    await db.query('DROP TABLE errors.audit');
    const err = await store.appendAudit({ seq: 1, line: '{}' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).providerCode).toBe('42P01'); // undefined_table
    expect((err as ProviderError).kind).toBe('rejected');
    await expect(store.createDek({ ...fakeDek('dek/e'), version: -1 })).rejects.toBeInstanceOf(InvalidInputError);
    await expect(store.addUsage('dek/e', 1, 0.5)).rejects.toBeInstanceOf(InvalidInputError);
    expect((await db.query('SELECT count(*)::int AS n FROM errors.deks')).rows).toEqual([{ n: 0 }]);
  });

  it('after close refuses calls; closes PGlite only when it owns it', async () => {
    const store = await PostgresKeyStore.open({ client: db, schema: 'closing' });
    await store.close();
    await expect(store.listDeks()).rejects.toBeInstanceOf(ClosedError);
    expect((await db.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    const own = await PGlite.create();
    const owning = await PostgresKeyStore.open({ client: own, ownsClient: true });
    await owning.close();
    expect(own.closed).toBe(true);
  });
});
