/**
 * What the persistent stores (IndexedDB, file, Postgres) share about a DEK entry: argument checks,
 * the split into plain metadata plus the wrapped key in its binary form (encodeWrappedKey, "VSWK"),
 * and the ordering and filtering KeyStore.listDeks promises. The stores differ only in where the
 * two halves go.
 */
import { InvalidInputError } from '../errors.js';
import { checkWrappedShape, type WrappedKey } from '../kms/provider.js';
import { decodeWrappedKey, encodeWrappedKey } from '../kms/_envelope.js';
import type { DekExpectation, DekPatch, DekState, StoredDek } from './store.js';

const STATES: readonly DekState[] = ['active', 'decrypt-only', 'suspended', 'destroyed'];

/** A StoredDek without its wrapped key; optional fields are absent rather than undefined. */
export interface DekMetadata {
  dekId: string;
  version: number;
  collection: string;
  tenant: string;
  state: DekState;
  createdAt: string;
  updatedAt?: string;
  sealedRecords?: number;
}

export function checkDekId(dekId: unknown, version: unknown): void {
  if (typeof dekId !== 'string' || dekId === '') throw new InvalidInputError('a DEK id must be a non-empty string');
  // Versions are sorted as numbers by every store; fractions or NaN would sort differently in each.
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) throw new InvalidInputError('a DEK version must be a non-negative safe integer');
}

function checkState(state: unknown): void {
  if (!STATES.includes(state as DekState)) throw new InvalidInputError(`a DEK state must be one of ${STATES.join(', ')}`);
}

/** Checks a whole entry before a store writes it (the memory store trusts its caller; these persist). */
export function checkDek(entry: StoredDek): void {
  if (entry === null || typeof entry !== 'object') throw new InvalidInputError('a DEK entry must be an object (see StoredDek)');
  checkDekId(entry.dekId, entry.version);
  for (const field of ['collection', 'tenant', 'createdAt'] as const) {
    if (typeof entry[field] !== 'string') throw new InvalidInputError(`a DEK entry's ${field} must be a string`);
  }
  checkState(entry.state);
  checkWrappedShape(entry.wrapped);
  if (entry.updatedAt !== undefined && typeof entry.updatedAt !== 'string') throw new InvalidInputError("a DEK entry's updatedAt must be a string when present");
  if (entry.sealedRecords !== undefined) checkCount(entry.sealedRecords, 'sealedRecords');
}

export function checkPatch(patch: DekPatch, expected: DekExpectation): void {
  if (patch === null || typeof patch !== 'object') throw new InvalidInputError('a DEK patch must be an object (see DekPatch)');
  if (patch.state !== undefined) checkState(patch.state);
  if (patch.wrapped !== undefined) checkWrappedShape(patch.wrapped);
  if (patch.updatedAt !== undefined && typeof patch.updatedAt !== 'string') throw new InvalidInputError('a patch updatedAt must be a string');
  if (expected.state !== undefined) checkState(expected.state);
  if (expected.wrappedChecksum !== undefined && !(expected.wrappedChecksum instanceof Uint8Array)) throw new InvalidInputError('an expected wrappedChecksum must be a Uint8Array');
}

export function checkCount(n: unknown, name: string): void {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new InvalidInputError(`${name} must be a non-negative safe integer`);
}

export function checkAuditLine(entry: { seq: number; line: string }): void {
  if (entry === null || typeof entry !== 'object') throw new InvalidInputError('an audit entry must be an object (see StoredAuditLine)');
  if (typeof entry.seq !== 'number' || !Number.isSafeInteger(entry.seq) || entry.seq < 1) throw new InvalidInputError('an audit seq must be a positive safe integer');
  if (typeof entry.line !== 'string') throw new InvalidInputError('an audit line must be a string');
}

export function checkMeta(key: unknown, value: unknown, expected: unknown): void {
  if (typeof key !== 'string' || key === '') throw new InvalidInputError('a meta key must be a non-empty string');
  if (typeof value !== 'string') throw new InvalidInputError('a meta value must be a string');
  if (expected !== undefined && expected !== null && typeof expected !== 'string') throw new InvalidInputError('an expected meta value must be a string, null or undefined');
}

/** The entry's metadata with absent optional fields left out, so a round trip compares equal. */
export function metadataOf(entry: StoredDek): DekMetadata {
  const meta: DekMetadata = {
    dekId: entry.dekId,
    version: entry.version,
    collection: entry.collection,
    tenant: entry.tenant,
    state: entry.state,
    createdAt: entry.createdAt,
  };
  if (entry.updatedAt !== undefined) meta.updatedAt = entry.updatedAt;
  if (entry.sealedRecords !== undefined) meta.sealedRecords = entry.sealedRecords;
  return meta;
}

export function joinDek(meta: DekMetadata, wrapped: Uint8Array): StoredDek {
  const entry: StoredDek = { ...meta, wrapped: decodeWrappedKey(wrapped) };
  return entry;
}

export function wrappedBytes(wrapped: WrappedKey): Uint8Array {
  return encodeWrappedKey(wrapped);
}

/** KeyStore.listDeks order: dekId (UTF-16 code units, as JavaScript and IndexedDB compare), then version. */
export function compareDeks(a: { dekId: string; version: number }, b: { dekId: string; version: number }): number {
  if (a.dekId !== b.dekId) return a.dekId < b.dekId ? -1 : 1;
  return a.version - b.version;
}

export function matchesFilter(d: { collection: string; tenant: string }, filter: { collection?: string; tenant?: string }): boolean {
  return (filter.collection === undefined || d.collection === filter.collection) && (filter.tenant === undefined || d.tenant === filter.tenant);
}
