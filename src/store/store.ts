/**
 * Where wrapped DEKs live. Issue 5 adds IndexedDB, file and Postgres stores and the conformance
 * suite; every store holds wrapped keys only.
 */
import type { WrappedKey } from '../kms/provider.js';

export type DekState = 'active' | 'decrypt-only' | 'suspended' | 'destroyed';

export interface StoredDek {
  dekId: string;
  version: number;
  collection: string;
  tenant: string;
  state: DekState;
  wrapped: WrappedKey;
  createdAt: string;
}

export interface KeyStore {
  getDek(dekId: string, version: number): Promise<StoredDek | undefined>;
  /** Every version of a DEK, oldest first. */
  listDekVersions(dekId: string): Promise<StoredDek[]>;
  /**
   * Adds a new DEK version.
   * @returns false (and stores nothing) if that dekId and version already exist
   */
  createDek(entry: StoredDek): Promise<boolean>;
}
