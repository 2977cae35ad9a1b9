/**
 * Where the sealed rows live: the embedded PGlite database in <data>/pglite (default) or a
 * PostgreSQL server (--pg, through node-postgres). One table, vecseal_start.embeddings
 * (collection, tenant, id, ciphertext bytea): the id is a random UUID, so not even the row id says
 * which word a row holds. vecseal_start.meta records which data folder filled the table: rows
 * sealed under another folder's keys would never open, so such a table is refused.
 */
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import type { SealedRecord } from '../../src/index.js';
import { StartError, systemCode } from './fail.js';

export const SCHEMA = 'vecseal_start';
export const TABLE = `${SCHEMA}.embeddings`;

export interface StoredRow {
  tenant: string;
  id: string;
  ciphertext: Uint8Array;
}

export interface RecordsTable {
  /** 'PGlite at …' or 'PostgreSQL 15.x at host:port/db'. */
  where: string;
  count(tenant: string): Promise<number>;
  /** Replaces the tenant's rows with `rows`, in one transaction (all or nothing). */
  replace(tenant: string, rows: readonly SealedRecord[]): Promise<void>;
  /** Every row of the collection, as stored, ordered by tenant and id. */
  readAll(): Promise<StoredRow[]>;
  close(): Promise<void>;
}

interface Sql {
  exec(sql: string): Promise<void>;
  query<R>(sql: string, params?: unknown[]): Promise<R[]>;
  transaction(fn: (q: <R>(sql: string, params?: unknown[]) => Promise<R[]>) => Promise<void>): Promise<void>;
  close(): Promise<void>;
}

const SCHEMA_SQL = `
CREATE SCHEMA IF NOT EXISTS ${SCHEMA};
CREATE TABLE IF NOT EXISTS ${SCHEMA}.meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS ${TABLE} (
  collection text NOT NULL,
  tenant text NOT NULL,
  id text NOT NULL,
  ciphertext bytea NOT NULL,
  PRIMARY KEY (collection, tenant, id)
);`;

/** A connection string without its password, for messages. */
export function redact(connection: string): string {
  try {
    const url = new URL(connection);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return connection.replace(/:[^:@/]*@/, ':***@');
  }
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0]!.slice(0, 300);
}

async function openPglite(dir: string): Promise<{ sql: Sql; where: string }> {
  let db: PGlite;
  try {
    db = await PGlite.create(dir);
  } catch (err) {
    throw new StartError(`cannot open the PGlite database in ${dir} (${firstLine(err) || systemCode(err) || 'error'}): the data folder is damaged; delete ${dir} to seal the rows again`, { cause: err });
  }
  const sql: Sql = {
    exec: async (text) => void (await db.exec(text)),
    query: async <R>(text: string, params?: unknown[]) => (await db.query<R>(text, params)).rows,
    transaction: async (fn) => {
      await db.transaction(async (tx) => fn(async <R>(text: string, params?: unknown[]) => (await tx.query<R>(text, params)).rows));
    },
    close: () => db.close(),
  };
  return { sql, where: `PGlite (embedded PostgreSQL) in ${dir}` };
}

async function openPostgres(connection: string): Promise<{ sql: Sql; where: string }> {
  const shown = redact(connection);
  let client: pg.Client;
  try {
    client = new pg.Client({ connectionString: connection, connectionTimeoutMillis: 10_000 });
  } catch (err) {
    throw new StartError(`--pg ${shown} is not a PostgreSQL connection string (${firstLine(err)})`);
  }
  // A server that goes away later surfaces as the failure of the query in flight; this keeps the
  // client's 'error' event from crashing the process with a stack instead.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    const why = systemCode(err) ?? firstLine(err);
    throw new StartError(`cannot connect to PostgreSQL at ${shown} (${why}): is the server running and reachable?`, { cause: err });
  }
  const version = (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version ?? '?';
  const sql: Sql = {
    exec: async (text) => void (await client.query(text)),
    query: async <R>(text: string, params?: unknown[]) => (await client.query(text, params)).rows as R[],
    transaction: async (fn) => {
      await client.query('BEGIN');
      try {
        await fn(async <R>(text: string, params?: unknown[]) => (await client.query(text, params)).rows as R[]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    },
    close: () => client.end(),
  };
  return { sql, where: `PostgreSQL ${version.split(' ')[0]} at ${shown}` };
}

/**
 * Opens the database, creates the schema if missing and checks the table belongs to this data folder.
 * @param pgliteDir used when `connection` is undefined
 * @throws StartError when the server is unreachable, the PGlite folder damaged, or the table was filled from another data folder
 */
export async function openRecordsTable(options: { connection: string | undefined; pgliteDir: string; installId: string; collection: string }): Promise<RecordsTable> {
  const { sql, where } = options.connection !== undefined ? await openPostgres(options.connection) : await openPglite(options.pgliteDir);
  const { collection } = options;
  try {
    try {
      await sql.exec(SCHEMA_SQL);
      await sql.query(`INSERT INTO ${SCHEMA}.meta (key, value) VALUES ('install', $1) ON CONFLICT (key) DO NOTHING`, [options.installId]);
    } catch (err) {
      throw new StartError(`cannot create the table ${TABLE} in ${where} (${firstLine(err)})`, { cause: err });
    }
    const [owner] = await sql.query<{ value: string }>(`SELECT value FROM ${SCHEMA}.meta WHERE key = 'install'`);
    if (owner?.value !== options.installId) {
      throw new StartError(`the table ${TABLE} in ${where} was filled from another data folder (install ${owner?.value.slice(0, 8)}…): use that folder's --data, or DROP SCHEMA ${SCHEMA} CASCADE to start over`);
    }
  } catch (err) {
    await sql.close().catch(() => undefined);
    throw err;
  }
  return {
    where,
    async count(tenant) {
      const [row] = await sql.query<{ n: number | string }>(`SELECT count(*)::int AS n FROM ${TABLE} WHERE collection = $1 AND tenant = $2`, [collection, tenant]);
      return Number(row?.n ?? 0);
    },
    async replace(tenant, rows) {
      await sql.transaction(async (q) => {
        await q(`DELETE FROM ${TABLE} WHERE collection = $1 AND tenant = $2`, [collection, tenant]);
        await q(`INSERT INTO ${TABLE} (collection, tenant, id, ciphertext) SELECT $1, $2, u.id, u.ct FROM unnest($3::text[], $4::bytea[]) AS u(id, ct)`, [
          collection,
          tenant,
          rows.map((r) => r.id),
          rows.map((r) => r.ciphertext),
        ]);
      });
    },
    async readAll() {
      const rows = await sql.query<{ tenant: string; id: string; ciphertext: Uint8Array }>(`SELECT tenant, id, ciphertext FROM ${TABLE} WHERE collection = $1 ORDER BY tenant, id`, [collection]);
      return rows.map((r) => ({ tenant: r.tenant, id: r.id, ciphertext: new Uint8Array(r.ciphertext.buffer, r.ciphertext.byteOffset, r.ciphertext.byteLength) }));
    },
    close: () => sql.close(),
  };
}
