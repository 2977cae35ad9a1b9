/**
 * PostgresKeyStore: a KeyStore in three PostgreSQL tables beside the application's data (the way
 * MongoDB keeps its key vault in the cluster). It speaks through a minimal query interface that a
 * PGlite instance, a node-postgres Client and a node-postgres Pool all satisfy.
 *
 * Every operation is one SQL statement, so each is atomic on its own and none needs a transaction
 * (which a pool could not hold across calls anyway):
 * - create once: INSERT ... ON CONFLICT DO NOTHING RETURNING;
 * - compare-and-set: UPDATE ... WHERE state = $x / wrapped_checksum = $y RETURNING. Under READ
 *   COMMITTED a second racing UPDATE waits for the first and re-checks its WHERE on the new row;
 * - usage: UPDATE ... SET n = n + $1 RETURNING n;
 * - audit: INSERT ... SELECT ... WHERE seq = max(seq) + 1, with seq the primary key: two writers of
 *   one seq both pass the check, the second then meets the first's key and does nothing.
 * Wrapped keys are bytea in their binary form (encodeWrappedKey); their checksum has its own column
 * so a compare-and-set on it runs in SQL.
 */
import { ClosedError, InvalidInputError, ProviderError, type ProviderFailure } from '../errors.js';
import { encodeWrappedKey } from '../kms/_envelope.js';
import {
  checkAuditLine,
  checkCount,
  checkDek,
  checkDekId,
  checkMeta,
  checkPatch,
  compareDeks,
  joinDek,
  type DekMetadata,
} from './_dek-record.js';
import type { DekExpectation, DekPatch, DekState, KeyStore, StoredAuditLine, StoredDek } from './store.js';

/** What the store needs of a database client: PGlite, pg.Client and pg.Pool all fit. */
export interface SqlClient {
  query(sql: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
  /** pg.Client / pg.Pool: called by close() when the store owns the client. */
  end?(): Promise<void>;
  /** PGlite: called by close() when the store owns the client. */
  close?(): Promise<void>;
}

export interface PostgresKeyStoreOptions {
  client: SqlClient;
  /** Schema of the store's tables (deks, audit, meta), created if missing; default 'vecseal'. */
  schema?: string;
  /** close() also ends or closes `client`; default false (the application keeps its client). */
  ownsClient?: boolean;
  /**
   * The client runs queries concurrently (a pg.Pool): calls go straight to it. Default false: calls
   * are queued per client, one query at a time, which a single pg connection needs (pg 8 deprecates
   * overlapping queries on one Client, pg 9 removes them) and PGlite does anyway.
   */
  concurrent?: boolean;
}

/** Per client, the tail of the queue of queries sent through stores (several stores may share a client). */
const queues = new WeakMap<SqlClient, Promise<unknown>>();

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
const DEK_COLUMNS = 'dek_id, version, collection, tenant, state, wrapped, created_at, updated_at, sealed_records';

function schemaSql(s: string): string {
  // One statement, so a pool runs it on one connection; the advisory lock (held to its end) keeps
  // two stores opening at once from racing CREATE ... IF NOT EXISTS into a duplicate-key error.
  return `DO $$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('vecseal.keystore.${s}'));
  CREATE SCHEMA IF NOT EXISTS "${s}";
  CREATE TABLE IF NOT EXISTS "${s}".deks (
    dek_id text COLLATE "C" NOT NULL,
    version bigint NOT NULL CHECK (version >= 0),
    collection text NOT NULL,
    tenant text NOT NULL,
    state text NOT NULL CHECK (state IN ('active', 'decrypt-only', 'suspended', 'destroyed')),
    wrapped bytea NOT NULL,
    wrapped_checksum bytea NOT NULL,
    created_at text NOT NULL,
    updated_at text,
    sealed_records bigint CHECK (sealed_records >= 0),
    PRIMARY KEY (dek_id, version)
  );
  CREATE INDEX IF NOT EXISTS deks_collection_tenant ON "${s}".deks (collection, tenant);
  CREATE INDEX IF NOT EXISTS deks_tenant ON "${s}".deks (tenant);
  CREATE TABLE IF NOT EXISTS "${s}".audit (seq bigint PRIMARY KEY CHECK (seq >= 1), line text NOT NULL);
  CREATE TABLE IF NOT EXISTS "${s}".meta (key text PRIMARY KEY, value text NOT NULL);
END
$$`;
}

/** bytea comes back as a Buffer (pg) or a Uint8Array (PGlite): a plain copy either way. */
function bytesOf(value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new ProviderError('the key store database returned a non-bytea wrapped key', { kind: 'protocol' });
  return new Uint8Array(value); // not slice(): on a Buffer it makes another Buffer (species)
}

/** bigint comes back as a string (pg) or a number (PGlite). */
function numberOf(value: unknown): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new ProviderError('the key store database returned a number out of range', { kind: 'protocol' });
  return n;
}

function toEntry(row: Record<string, unknown>): StoredDek {
  const meta: DekMetadata = {
    dekId: row.dek_id as string,
    version: numberOf(row.version),
    collection: row.collection as string,
    tenant: row.tenant as string,
    state: row.state as DekState,
    createdAt: row.created_at as string,
  };
  if (row.updated_at !== null && row.updated_at !== undefined) meta.updatedAt = row.updated_at as string;
  if (row.sealed_records !== null && row.sealed_records !== undefined) meta.sealedRecords = numberOf(row.sealed_records);
  return joinDek(meta, bytesOf(row.wrapped));
}

/** SQLSTATE classes worth telling apart (PostgreSQL appendix A); anything else was refused. */
function failureKind(err: unknown): ProviderFailure {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return 'network'; // socket errors (ECONNREFUSED ...)
  if (code.startsWith('08')) return 'network';
  if (code.startsWith('40') || code.startsWith('53') || code.startsWith('57P')) return 'unavailable';
  return 'rejected';
}

export class PostgresKeyStore implements KeyStore {
  readonly #client: SqlClient;
  readonly #s: string;
  readonly #ownsClient: boolean;
  readonly #concurrent: boolean;
  #closed = false;

  private constructor(client: SqlClient, schema: string, options: PostgresKeyStoreOptions) {
    this.#client = client;
    this.#s = `"${schema}"`;
    this.#ownsClient = options.ownsClient ?? false;
    this.#concurrent = options.concurrent ?? false;
  }

  /**
   * Opens the store in `schema`, creating the schema and its tables if missing.
   * @param options client (PGlite, pg.Client or pg.Pool), schema (default 'vecseal'), ownsClient, concurrent (true for a pool)
   * @returns the store
   * @throws InvalidInputError for a client without query() or a schema that is not a plain lower-case identifier
   * @throws ProviderError if the database refuses or cannot be reached
   * @example
   * const store = await PostgresKeyStore.open({ client: await PGlite.create('./data') });
   */
  static async open(options: PostgresKeyStoreOptions): Promise<PostgresKeyStore> {
    if (options === null || typeof options !== 'object' || typeof options.client?.query !== 'function') {
      throw new InvalidInputError('PostgresKeyStore.open needs { client } with a query(sql, params) method (PGlite, pg.Client, pg.Pool)');
    }
    const schema = options.schema ?? 'vecseal';
    // The name goes into DDL (identifiers cannot be parameters): only names that need no quoting.
    if (typeof schema !== 'string' || !IDENTIFIER.test(schema)) throw new InvalidInputError('schema must be a lower-case SQL identifier (a-z, 0-9, _; at most 63 characters)');
    const store = new PostgresKeyStore(options.client, schema, options);
    await store.#query(schemaSql(schema), []);
    return store;
  }

  async getDek(dekId: string, version: number): Promise<StoredDek | undefined> {
    checkDekId(dekId, version);
    const rows = await this.#query(`SELECT ${DEK_COLUMNS} FROM ${this.#s}.deks WHERE dek_id = $1 AND version = $2`, [dekId, version]);
    return rows[0] && toEntry(rows[0]);
  }

  async listDekVersions(dekId: string): Promise<StoredDek[]> {
    checkDekId(dekId, 0);
    const rows = await this.#query(`SELECT ${DEK_COLUMNS} FROM ${this.#s}.deks WHERE dek_id = $1 ORDER BY version`, [dekId]);
    return rows.map(toEntry);
  }

  async listDeks(filter: { collection?: string; tenant?: string } = {}): Promise<StoredDek[]> {
    const rows = await this.#query(
      `SELECT ${DEK_COLUMNS} FROM ${this.#s}.deks WHERE ($1::text IS NULL OR collection = $1) AND ($2::text IS NULL OR tenant = $2) ORDER BY dek_id, version`,
      [filter.collection ?? null, filter.tenant ?? null],
    );
    // SQL orders by UTF-8 bytes, JavaScript by UTF-16 units: they differ past U+FFFF, so JavaScript decides.
    return rows.map(toEntry).sort(compareDeks);
  }

  async createDek(entry: StoredDek): Promise<boolean> {
    checkDek(entry);
    const rows = await this.#query(
      `INSERT INTO ${this.#s}.deks (dek_id, version, collection, tenant, state, wrapped, wrapped_checksum, created_at, updated_at, sealed_records)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (dek_id, version) DO NOTHING RETURNING 1 AS ok`,
      [
        entry.dekId,
        entry.version,
        entry.collection,
        entry.tenant,
        entry.state,
        encodeWrappedKey(entry.wrapped),
        entry.wrapped.checksum,
        entry.createdAt,
        entry.updatedAt ?? null,
        entry.sealedRecords ?? null,
      ],
    );
    return rows.length === 1;
  }

  async updateDek(dekId: string, version: number, patch: DekPatch, expected: DekExpectation = {}): Promise<boolean> {
    checkDekId(dekId, version);
    checkPatch(patch, expected);
    const rows = await this.#query(
      `UPDATE ${this.#s}.deks SET
         state = COALESCE($3::text, state),
         wrapped = COALESCE($4::bytea, wrapped),
         wrapped_checksum = COALESCE($5::bytea, wrapped_checksum),
         updated_at = COALESCE($6::text, updated_at)
       WHERE dek_id = $1 AND version = $2 AND ($7::text IS NULL OR state = $7) AND ($8::bytea IS NULL OR wrapped_checksum = $8)
       RETURNING 1 AS ok`,
      [
        dekId,
        version,
        patch.state ?? null,
        patch.wrapped ? encodeWrappedKey(patch.wrapped) : null,
        patch.wrapped?.checksum ?? null,
        patch.updatedAt ?? null,
        expected.state ?? null,
        expected.wrappedChecksum ?? null,
      ],
    );
    return rows.length === 1;
  }

  async addUsage(dekId: string, version: number, records: number): Promise<number | undefined> {
    checkDekId(dekId, version);
    checkCount(records, 'records');
    const rows = await this.#query(
      `UPDATE ${this.#s}.deks SET sealed_records = COALESCE(sealed_records, 0) + $3::bigint WHERE dek_id = $1 AND version = $2 RETURNING sealed_records`,
      [dekId, version, records],
    );
    return rows[0] && numberOf(rows[0].sealed_records);
  }

  async appendAudit(entry: StoredAuditLine): Promise<boolean> {
    checkAuditLine(entry);
    const rows = await this.#query(
      `INSERT INTO ${this.#s}.audit (seq, line)
       SELECT $1::bigint, $2::text WHERE $1::bigint = (SELECT COALESCE(max(seq), 0) + 1 FROM ${this.#s}.audit)
       ON CONFLICT (seq) DO NOTHING RETURNING seq`,
      [entry.seq, entry.line],
    );
    return rows.length === 1;
  }

  async readAudit(from = 1, limit = Number.MAX_SAFE_INTEGER): Promise<StoredAuditLine[]> {
    checkCount(from, 'from');
    checkCount(limit, 'limit');
    const rows = await this.#query(`SELECT seq, line FROM ${this.#s}.audit WHERE seq >= $1::bigint ORDER BY seq LIMIT $2::bigint`, [from, limit]);
    return rows.map((r) => ({ seq: numberOf(r.seq), line: r.line as string }));
  }

  async getMeta(key: string): Promise<string | undefined> {
    checkMeta(key, '', undefined);
    const rows = await this.#query(`SELECT value FROM ${this.#s}.meta WHERE key = $1`, [key]);
    return rows[0]?.value as string | undefined;
  }

  async setMeta(key: string, value: string, expected?: string | null): Promise<boolean> {
    checkMeta(key, value, expected);
    let rows: Record<string, unknown>[];
    if (expected === undefined) {
      rows = await this.#query(`INSERT INTO ${this.#s}.meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value RETURNING 1 AS ok`, [key, value]);
    } else if (expected === null) {
      rows = await this.#query(`INSERT INTO ${this.#s}.meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING RETURNING 1 AS ok`, [key, value]);
    } else {
      rows = await this.#query(`UPDATE ${this.#s}.meta SET value = $2 WHERE key = $1 AND value = $3 RETURNING 1 AS ok`, [key, value, expected]);
    }
    return rows.length === 1;
  }

  /** Refuses further calls; ends or closes the client only if the store owns it (ownsClient). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ownsClient) await (this.#client.end?.() ?? this.#client.close?.());
  }

  async #query(sql: string, params: unknown[]): Promise<Record<string, unknown>[]> {
    if (this.#closed) throw new ClosedError('the key store is closed');
    try {
      return (await this.#send(sql, params)).rows;
    } catch (err) {
      // The driver's message only: its `detail` can quote a whole row.
      const code = (err as { code?: unknown }).code;
      const text = err instanceof Error ? err.message : 'unknown error';
      throw new ProviderError(`the key store database failed a query: ${text}`, { cause: err, kind: failureKind(err), providerCode: typeof code === 'string' ? code : undefined });
    }
  }

  #send(sql: string, params: unknown[]): Promise<{ rows: Record<string, unknown>[] }> {
    if (this.#concurrent) return this.#client.query(sql, params);
    const run = (queues.get(this.#client) ?? Promise.resolve()).then(() => this.#client.query(sql, params));
    const tail = run.catch(() => undefined);
    queues.set(this.#client, tail);
    return run;
  }
}
