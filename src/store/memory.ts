/** A KeyStore in memory: for tests, demos and short-lived processes (nothing survives a restart). */
import type { KeyStore, StoredDek } from './store.js';

function copy(entry: StoredDek): StoredDek {
  return { ...entry, wrapped: { ...entry.wrapped, bytes: entry.wrapped.bytes.slice() } };
}

export class MemoryKeyStore implements KeyStore {
  readonly #deks = new Map<string, StoredDek[]>();

  async getDek(dekId: string, version: number): Promise<StoredDek | undefined> {
    const found = this.#deks.get(dekId)?.find((d) => d.version === version);
    return found && copy(found);
  }

  async listDekVersions(dekId: string): Promise<StoredDek[]> {
    return (this.#deks.get(dekId) ?? []).map(copy);
  }

  async createDek(entry: StoredDek): Promise<boolean> {
    const versions = this.#deks.get(entry.dekId) ?? [];
    if (versions.some((d) => d.version === entry.version)) return false;
    versions.push(copy(entry));
    versions.sort((a, b) => a.version - b.version);
    this.#deks.set(entry.dekId, versions);
    return true;
  }
}
