/**
 * IndexedDbKeyStore: the browser's default KeyStore, in IndexedDB through idb (W3C Indexed Database
 * API 3.0). Three object stores: `deks` keyed [dekId, version] with indexes on collection and tenant,
 * `audit` keyed by seq, `meta` keyed by name. Wrapped keys are kept in their binary form
 * (encodeWrappedKey); nothing else about a key is stored.
 *
 * Every compare-and-set reads, checks and writes inside one readwrite transaction. IndexedDB runs
 * readwrite transactions with overlapping scopes one after another, across every connection of the
 * origin, so two tabs (or workers) racing on one entry cannot both win. No other promise may be
 * awaited inside such a transaction: it would commit early and open a race again.
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import { ClosedError, NotSupportedError } from '../errors.js';
import { decodeWrappedKey, sameBytes } from '../kms/_envelope.js';
import {
  checkAuditLine,
  checkCount,
  checkDek,
  checkDekId,
  checkMeta,
  checkPatch,
  compareDeks,
  joinDek,
  matchesFilter,
  metadataOf,
  wrappedBytes,
  type DekMetadata,
} from './_dek-record.js';
import type { DekExpectation, DekPatch, KeyStore, StoredAuditLine, StoredDek } from './store.js';

export const DEFAULT_KEY_DATABASE = 'vecseal-keys';
/** Schema version of the database; an upgrade function must handle every older one. */
const SCHEMA_VERSION = 1;

/** How a DEK entry sits in IndexedDB: its metadata plus the encodeWrappedKey bytes. */
interface DekRow extends DekMetadata {
  wrapped: Uint8Array;
}

interface KeyDb extends DBSchema {
  deks: { key: [string, number]; value: DekRow; indexes: { collection: string; tenant: string } };
  audit: { key: number; value: StoredAuditLine };
  meta: { key: string; value: { key: string; value: string } };
}

export interface IndexedDbKeyStoreOptions {
  /** IndexedDB database name; default 'vecseal-keys'. Each name is a separate store. */
  databaseName?: string;
}

function toEntry(row: DekRow): StoredDek {
  const { wrapped, ...meta } = row;
  return joinDek(meta, wrapped);
}

export class IndexedDbKeyStore implements KeyStore {
  #db: IDBPDatabase<KeyDb> | undefined;
  #closedWhy = 'the key store is closed';

  private constructor(db: IDBPDatabase<KeyDb>) {
    this.#db = db;
  }

  /**
   * Opens (and on first use creates) the key database. Each call opens its own connection, as
   * another tab would.
   * @param options databaseName (default 'vecseal-keys')
   * @returns the store
   * @throws NotSupportedError where IndexedDB is missing (Node: use FileKeyStore or PostgresKeyStore)
   * @example
   * const store = await IndexedDbKeyStore.open();
   */
  static async open(options: IndexedDbKeyStoreOptions = {}): Promise<IndexedDbKeyStore> {
    if (typeof indexedDB === 'undefined') throw new NotSupportedError('IndexedDbKeyStore needs IndexedDB (browsers and workers); in Node use FileKeyStore or PostgresKeyStore');
    let store: IndexedDbKeyStore | undefined;
    const db = await openDB<KeyDb>(options.databaseName ?? DEFAULT_KEY_DATABASE, SCHEMA_VERSION, {
      upgrade(upgrading, oldVersion) {
        if (oldVersion < 1) {
          const deks = upgrading.createObjectStore('deks', { keyPath: ['dekId', 'version'] });
          deks.createIndex('collection', 'collection');
          deks.createIndex('tenant', 'tenant');
          upgrading.createObjectStore('audit', { keyPath: 'seq' });
          upgrading.createObjectStore('meta', { keyPath: 'key' });
        }
      },
      // Another tab wants a newer schema or deletes the database: holding on would block it forever.
      blocking() {
        if (store) store.#lose('the key store was closed because another connection upgrades or deletes its database');
      },
      terminated() {
        if (store) store.#lose('the browser closed the key store database (storage cleared or evicted)');
      },
    });
    store = new IndexedDbKeyStore(db);
    return store;
  }

  async getDek(dekId: string, version: number): Promise<StoredDek | undefined> {
    checkDekId(dekId, version);
    const row = await this.#open().get('deks', [dekId, version]);
    return row && toEntry(row);
  }

  async listDekVersions(dekId: string): Promise<StoredDek[]> {
    checkDekId(dekId, 0);
    // Keys order [dekId, version] by dekId then version as numbers: the range is exactly one DEK, oldest first.
    const rows = await this.#open().getAll('deks', IDBKeyRange.bound([dekId, -Infinity], [dekId, Infinity]));
    return rows.map(toEntry);
  }

  async listDeks(filter: { collection?: string; tenant?: string } = {}): Promise<StoredDek[]> {
    const db = this.#open();
    let rows: DekRow[];
    if (filter.collection !== undefined) rows = await db.getAllFromIndex('deks', 'collection', filter.collection);
    else if (filter.tenant !== undefined) rows = await db.getAllFromIndex('deks', 'tenant', filter.tenant);
    else rows = await db.getAll('deks');
    return rows
      .filter((r) => matchesFilter(r, filter))
      .sort(compareDeks)
      .map(toEntry);
  }

  async createDek(entry: StoredDek): Promise<boolean> {
    checkDek(entry);
    const row: DekRow = { ...metadataOf(entry), wrapped: wrappedBytes(entry.wrapped) };
    const tx = this.#open().transaction('deks', 'readwrite');
    const exists = (await tx.store.getKey([entry.dekId, entry.version])) !== undefined;
    if (!exists) await tx.store.add(row);
    await tx.done;
    return !exists;
  }

  async updateDek(dekId: string, version: number, patch: DekPatch, expected: DekExpectation = {}): Promise<boolean> {
    checkDekId(dekId, version);
    checkPatch(patch, expected);
    const newWrapped = patch.wrapped && wrappedBytes(patch.wrapped);
    const tx = this.#open().transaction('deks', 'readwrite');
    const row = await tx.store.get([dekId, version]);
    let ok = row !== undefined;
    if (row && expected.state !== undefined && row.state !== expected.state) ok = false;
    if (row && ok && expected.wrappedChecksum !== undefined && !sameBytes(decodeWrappedKey(row.wrapped).checksum, expected.wrappedChecksum)) ok = false;
    if (row && ok) {
      if (patch.state !== undefined) row.state = patch.state;
      if (newWrapped !== undefined) row.wrapped = newWrapped;
      if (patch.updatedAt !== undefined) row.updatedAt = patch.updatedAt;
      await tx.store.put(row);
    }
    await tx.done;
    return ok;
  }

  async addUsage(dekId: string, version: number, records: number): Promise<number | undefined> {
    checkDekId(dekId, version);
    checkCount(records, 'records');
    const tx = this.#open().transaction('deks', 'readwrite');
    const row = await tx.store.get([dekId, version]);
    if (row) {
      row.sealedRecords = (row.sealedRecords ?? 0) + records;
      await tx.store.put(row);
    }
    await tx.done;
    return row?.sealedRecords;
  }

  async appendAudit(entry: StoredAuditLine): Promise<boolean> {
    checkAuditLine(entry);
    const tx = this.#open().transaction('audit', 'readwrite');
    // The last key, not a count: a count would also be right today, but the key is what must be seq - 1.
    const last = await tx.store.openKeyCursor(null, 'prev');
    const next = (last?.key ?? 0) + 1;
    const ok = entry.seq === next;
    if (ok) await tx.store.add({ seq: entry.seq, line: entry.line });
    await tx.done;
    return ok;
  }

  async readAudit(from = 1, limit = Number.MAX_SAFE_INTEGER): Promise<StoredAuditLine[]> {
    checkCount(from, 'from');
    checkCount(limit, 'limit');
    if (limit === 0) return [];
    // getAll takes its count as an unsigned long; larger limits mean "all".
    const count = limit > 0xffff_ffff ? undefined : limit;
    const rows = await this.#open().getAll('audit', IDBKeyRange.lowerBound(Math.max(1, from)), count);
    return rows.map((r) => ({ seq: r.seq, line: r.line }));
  }

  async getMeta(key: string): Promise<string | undefined> {
    checkMeta(key, '', undefined);
    return (await this.#open().get('meta', key))?.value;
  }

  async setMeta(key: string, value: string, expected?: string | null): Promise<boolean> {
    checkMeta(key, value, expected);
    const tx = this.#open().transaction('meta', 'readwrite');
    let ok = true;
    if (expected !== undefined) {
      const current = await tx.store.get(key);
      ok = (current?.value ?? null) === expected;
    }
    if (ok) await tx.store.put({ key, value });
    await tx.done;
    return ok;
  }

  /** Closes this connection; other connections (tabs) are unaffected. */
  async close(): Promise<void> {
    this.#lose('the key store is closed');
  }

  #open(): IDBPDatabase<KeyDb> {
    if (this.#db === undefined) throw new ClosedError(this.#closedWhy);
    return this.#db;
  }

  #lose(why: string): void {
    if (this.#db === undefined) return;
    this.#db.close();
    this.#db = undefined;
    this.#closedWhy = why;
  }
}
