/**
 * PostgresKeyStore on a real PostgreSQL 15 server (Debian postgresql-15, started for this file on
 * 127.0.0.1): the store conformance suite over node-postgres (second() = another connection,
 * reopen() = a new connection), then what only a server with many connections shows: a pool,
 * many connections racing the audit sequence and the DDL, and a server that goes away.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../../src/errors.js';
import { PostgresKeyStore } from '../../src/store/postgres.js';
import type { StoredDek } from '../../src/store/store.js';
import { startPostgres, type PostgresServer } from './_postgres-server.js';
import { tableBytes } from './_postgres.js';
import { runStoreSuite } from './_store-suite.js';

let server: PostgresServer;
const clients: pg.Client[] = [];
const pools: pg.Pool[] = [];

async function connect(): Promise<pg.Client> {
  const client = new pg.Client({ host: server.host, port: server.port, user: server.user, database: server.database });
  // An idle connection the server ends emits 'error'; unheard, that would crash the test process.
  client.on('error', () => undefined);
  await client.connect();
  clients.push(client);
  return client;
}

beforeAll(async () => {
  server = await startPostgres();
}, 90_000);

afterAll(async () => {
  for (const p of pools) await p.end().catch(() => undefined);
  for (const c of clients) await c.end().catch(() => undefined);
  await server?.stop();
}, 30_000);

runStoreSuite('postgres (PostgreSQL 15 server)', async () => {
  let store = await PostgresKeyStore.open({ client: await connect(), ownsClient: true });
  return {
    store,
    second: async () => PostgresKeyStore.open({ client: await connect(), ownsClient: true }),
    reopen: async () => {
      await store.close();
      store = await PostgresKeyStore.open({ client: await connect(), ownsClient: true });
      return store;
    },
    rawBytes: async () => tableBytes(await connect(), 'vecseal'),
  };
});

const random = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));
function fakeDek(dekId: string, version = 1): StoredDek {
  const wrapped = { provider: 'test', kekId: 'kek', algorithm: 'A256GCM', bytes: random(60), contextDigest: random(16), checksum: random(16) };
  return { dekId, version, collection: 'docs', tenant: 't', state: 'active', wrapped, createdAt: new Date().toISOString() };
}

describe('PostgresKeyStore on a PostgreSQL 15 server', () => {
  it('opens one new schema from many connections at once without a DDL race', async () => {
    const conns = await Promise.all(Array.from({ length: 8 }, () => connect()));
    const stores = await Promise.all(conns.map((client) => PostgresKeyStore.open({ client, schema: 'ddl_race' })));
    expect(await stores[3]!.createDek(fakeDek('dek/a'))).toBe(true);
    expect((await stores[7]!.listDeks()).map((d) => d.dekId)).toEqual(['dek/a']);
  });

  it('runs over a pg.Pool: each call one statement, so any connection will do', async () => {
    const pool = new pg.Pool({ host: server.host, port: server.port, user: server.user, database: server.database, max: 8 });
    pool.on('error', () => undefined);
    pools.push(pool);
    const store = await PostgresKeyStore.open({ client: pool, schema: 'pooled', concurrent: true });
    await store.createDek(fakeDek('dek/p'));
    const totals = await Promise.all(Array.from({ length: 80 }, () => store.addUsage('dek/p', 1, 5)));
    expect(new Set(totals).size).toBe(80);
    expect(Math.max(...(totals as number[]))).toBe(400);
    const seen = (await store.getDek('dek/p', 1))!.state;
    const moves = await Promise.all((['decrypt-only', 'suspended', 'destroyed', 'decrypt-only'] as const).map((state) => store.updateDek('dek/p', 1, { state }, { state: seen })));
    expect(moves.filter(Boolean)).toHaveLength(1);
  });

  it('many connections appending with compare-and-set retries: a gap-free, complete audit log', async () => {
    const writers = await Promise.all(Array.from({ length: 6 }, async () => PostgresKeyStore.open({ client: await connect(), schema: 'audit_race' })));
    const perWriter = 25;
    let lost = 0;
    await Promise.all(
      writers.map(async (store, w) => {
        let seq = 1;
        for (let i = 0; i < perWriter; i++) {
          while (!(await store.appendAudit({ seq, line: JSON.stringify({ w, i }) }))) {
            lost++;
            seq += (await store.readAudit(seq)).length;
          }
          seq++;
        }
      }),
    );
    const audit = await writers[0]!.readAudit();
    expect(audit.map((l) => l.seq)).toEqual(Array.from({ length: writers.length * perWriter }, (_, i) => i + 1));
    for (let w = 0; w < writers.length; w++) {
      expect(audit.map((l) => JSON.parse(l.line)).filter((l) => l.w === w).map((l) => l.i)).toEqual(Array.from({ length: perWriter }, (_, i) => i));
    }
    expect(lost).toBeGreaterThan(0); // the writers really raced
  });

  it('reports a server that went away as a ProviderError, not a driver error', async () => {
    const store = await PostgresKeyStore.open({ client: await connect(), schema: 'going' });
    const admin = await connect();
    await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname = current_database()`);
    const err = await store.listDeks().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(['network', 'unavailable']).toContain((err as ProviderError).kind);
  });
});
