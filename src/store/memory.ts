/** A KeyStore in memory: for tests, demos and short-lived processes (nothing survives a restart). */
import { sameBytes } from '../kms/_envelope.js';
import type { DekExpectation, DekPatch, KeyStore, StoredAuditLine, StoredDek } from './store.js';

function copy(entry: StoredDek): StoredDek {
  return { ...entry, wrapped: { ...entry.wrapped, bytes: entry.wrapped.bytes.slice() } };
}

export class MemoryKeyStore implements KeyStore {
  readonly #deks = new Map<string, StoredDek[]>();
  readonly #audit: StoredAuditLine[] = [];
  readonly #meta = new Map<string, string>();

  async getDek(dekId: string, version: number): Promise<StoredDek | undefined> {
    const found = this.#find(dekId, version);
    return found && copy(found);
  }

  async listDekVersions(dekId: string): Promise<StoredDek[]> {
    return (this.#deks.get(dekId) ?? []).map(copy);
  }

  async listDeks(filter: { collection?: string; tenant?: string } = {}): Promise<StoredDek[]> {
    return [...this.#deks.keys()]
      .sort()
      .flatMap((id) => this.#deks.get(id)!)
      .filter((d) => (filter.collection === undefined || d.collection === filter.collection) && (filter.tenant === undefined || d.tenant === filter.tenant))
      .map(copy);
  }

  async createDek(entry: StoredDek): Promise<boolean> {
    const versions = this.#deks.get(entry.dekId) ?? [];
    if (versions.some((d) => d.version === entry.version)) return false;
    versions.push(copy(entry));
    versions.sort((a, b) => a.version - b.version);
    this.#deks.set(entry.dekId, versions);
    return true;
  }

  async updateDek(dekId: string, version: number, patch: DekPatch, expected: DekExpectation = {}): Promise<boolean> {
    const found = this.#find(dekId, version);
    if (!found) return false;
    if (expected.state !== undefined && found.state !== expected.state) return false;
    if (expected.wrappedChecksum !== undefined && !sameBytes(found.wrapped.checksum, expected.wrappedChecksum)) return false;
    if (patch.state !== undefined) found.state = patch.state;
    if (patch.wrapped !== undefined) found.wrapped = { ...patch.wrapped, bytes: patch.wrapped.bytes.slice() };
    if (patch.updatedAt !== undefined) found.updatedAt = patch.updatedAt;
    return true;
  }

  async addUsage(dekId: string, version: number, records: number): Promise<number | undefined> {
    const found = this.#find(dekId, version);
    if (!found) return undefined;
    found.sealedRecords = (found.sealedRecords ?? 0) + records;
    return found.sealedRecords;
  }

  async appendAudit(entry: StoredAuditLine): Promise<boolean> {
    if (entry.seq !== this.#audit.length + 1) return false;
    this.#audit.push({ seq: entry.seq, line: entry.line });
    return true;
  }

  async readAudit(from = 1, limit = Number.MAX_SAFE_INTEGER): Promise<StoredAuditLine[]> {
    return this.#audit.slice(Math.max(0, from - 1), Math.max(0, from - 1) + limit).map((e) => ({ ...e }));
  }

  async getMeta(key: string): Promise<string | undefined> {
    return this.#meta.get(key);
  }

  async setMeta(key: string, value: string, expected?: string | null): Promise<boolean> {
    if (expected !== undefined && (this.#meta.get(key) ?? null) !== expected) return false;
    this.#meta.set(key, value);
    return true;
  }

  #find(dekId: string, version: number): StoredDek | undefined {
    return this.#deks.get(dekId)?.find((d) => d.version === version);
  }
}
