/**
 * IndexedDB storage of WebCrypto KEKs (through idb). A CryptoKey is stored by structured clone,
 * which keeps it non-extractable: the key material never becomes readable to script, and the
 * key survives reloads in the same origin.
 */
import { openDB, type IDBPDatabase } from 'idb';
import { NotSupportedError } from '../errors.js';
import type { WebCryptoAlgorithm } from './webcrypto.js';

export const DEFAULT_KEK_DATABASE = 'vecseal-keks';
const STORE = 'keks';

export interface StoredKek {
  kekId: string;
  algorithm: WebCryptoAlgorithm;
  wrapping: CryptoKey;
  unwrapping: CryptoKey | undefined;
}

export interface KekStore {
  get(kekId: string): Promise<StoredKek | undefined>;
  /** Stores `kek` unless an entry with its id exists; returns whichever entry is stored. */
  addIfAbsent(kek: StoredKek): Promise<StoredKek>;
  delete(kekId: string): Promise<void>;
  close(): void;
}

export async function openKekStore(databaseName = DEFAULT_KEK_DATABASE): Promise<KekStore> {
  if (typeof indexedDB === 'undefined') throw new NotSupportedError('persistent WebCrypto KEKs need IndexedDB (browsers); in Node use a KMS, an HSM or KMIP');
  const db: IDBPDatabase = await openDB(databaseName, 1, {
    upgrade(upgrading) {
      upgrading.createObjectStore(STORE, { keyPath: 'kekId' });
    },
  });
  return {
    get: async (kekId) => (await db.get(STORE, kekId)) as StoredKek | undefined,
    async addIfAbsent(kek) {
      const tx = db.transaction(STORE, 'readwrite');
      const existing = (await tx.store.get(kek.kekId)) as StoredKek | undefined;
      if (existing === undefined) await tx.store.add(kek);
      await tx.done;
      return existing ?? kek;
    },
    delete: (kekId) => db.delete(STORE, kekId),
    close: () => db.close(),
  };
}
