/**
 * Where wrapped DEKs, their metadata and usage counters, the audit log and small bookkeeping values
 * (audit checkpoints, rotation progress) live. One interface, several stores (memory, IndexedDB,
 * a crash-safe file, Postgres), one conformance suite (test/store/_store-suite.ts).
 *
 * A store never sees a plaintext key: DEKs arrive wrapped by a KeyProvider. Every write that can
 * race another client is a compare-and-set, so two tabs or processes sharing a store cannot both
 * create version 2 of a DEK or both move a state.
 */
import type { WrappedKey } from '../kms/provider.js';

/**
 * - active: seals and opens;
 * - decrypt-only: opens records (after rotation, or when the usage limit is reached);
 * - suspended: nothing opens or seals, reversibly;
 * - destroyed: the wrapped key is gone; nothing ever opens again.
 */
export type DekState = 'active' | 'decrypt-only' | 'suspended' | 'destroyed';

export interface StoredDek {
  dekId: string;
  version: number;
  collection: string;
  tenant: string;
  state: DekState;
  /** The wrapped DEK. A destroyed entry keeps its metadata but its wrapped bytes are erased (empty). */
  wrapped: WrappedKey;
  /** ISO 8601. */
  createdAt: string;
  /** ISO 8601; last state or wrapping change. */
  updatedAt?: string | undefined;
  /** Records sealed under this version so far (usage limits). */
  sealedRecords?: number | undefined;
}

/** What updateDek may change. */
export interface DekPatch {
  state?: DekState;
  wrapped?: WrappedKey;
  updatedAt?: string;
}

/** The condition updateDek checks before it writes. */
export interface DekExpectation {
  /** The entry's state must be this one. */
  state?: DekState;
  /** The entry's wrapped key must still have this checksum (a rewrap raced another). */
  wrappedChecksum?: Uint8Array;
}

/** One audit log line with its sequence number (the line is the audit module's JSON). */
export interface StoredAuditLine {
  seq: number;
  line: string;
}

export interface KeyStore {
  getDek(dekId: string, version: number): Promise<StoredDek | undefined>;
  /** Every version of a DEK, oldest first. */
  listDekVersions(dekId: string): Promise<StoredDek[]>;
  /** Every DEK version, optionally of one collection and/or tenant, ordered by dekId then version. */
  listDeks(filter?: { collection?: string; tenant?: string }): Promise<StoredDek[]>;
  /**
   * Adds a new DEK version.
   * @returns false (and stores nothing) if that dekId and version already exist
   */
  createDek(entry: StoredDek): Promise<boolean>;
  /**
   * Changes a version's state and/or wrapped key if it exists and meets `expected`.
   * @returns false (and changes nothing) otherwise
   */
  updateDek(dekId: string, version: number, patch: DekPatch, expected?: DekExpectation): Promise<boolean>;
  /**
   * Adds `records` to a version's sealed-record counter, atomically.
   * @returns the new total; undefined if the version does not exist
   */
  addUsage(dekId: string, version: number, records: number): Promise<number | undefined>;
  /**
   * Appends one audit line. Sequence numbers start at 1 and have no gaps.
   * @returns false (and stores nothing) if `seq` is not the next number (another writer came first)
   */
  appendAudit(entry: StoredAuditLine): Promise<boolean>;
  /** Audit lines with seq >= from (default 1), in order, at most `limit`. */
  readAudit(from?: number, limit?: number): Promise<StoredAuditLine[]>;
  /** A small value kept by the SDK (audit checkpoints, rotation progress). */
  getMeta(key: string): Promise<string | undefined>;
  /**
   * Sets a value. With `expected`, only if the current value equals it (null: only if absent).
   * @returns false if the condition failed
   */
  setMeta(key: string, value: string, expected?: string | null): Promise<boolean>;
  /** Releases connections and handles. */
  close?(): Promise<void>;
}
