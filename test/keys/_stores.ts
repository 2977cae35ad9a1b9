/**
 * The persistent store each runtime would use in production: FileKeyStore in a temp directory
 * under Node, IndexedDbKeyStore (a fresh database) in browsers. Node modules are imported by a
 * computed path so the browser bundle never sees them.
 */
import type { KeyStore } from '../../src/store/store.js';

export const inBrowser = typeof window !== 'undefined' && typeof document !== 'undefined';

export interface OpenedStore {
  store: KeyStore;
  /** A second handle on the same data (another process, or another tab's connection). */
  second(): Promise<KeyStore>;
  /** Every stored byte, for scans (file contents, or IndexedDB values structured-cloned to bytes). */
  rawBytes(): Promise<Uint8Array[]>;
  remove(): Promise<void>;
}

const nodeOnly = (path: string): Promise<any> => import(/* @vite-ignore */ path);

export async function openStore(): Promise<OpenedStore> {
  if (inBrowser) {
    const { IndexedDbKeyStore } = await import('../../src/store/indexeddb.js');
    const { deleteDB, openDB } = await import('idb');
    const name = `vecseal-lifecycle-${crypto.randomUUID()}`;
    const handles: KeyStore[] = [];
    const open = async () => {
      const s = await IndexedDbKeyStore.open({ databaseName: name });
      handles.push(s);
      return s;
    };
    const store = await open();
    return {
      store,
      second: open,
      async rawBytes() {
        const db = await openDB(name);
        const out: Uint8Array[] = [];
        const enc = new TextEncoder();
        const visit = (v: unknown): void => {
          if (v instanceof Uint8Array) out.push(v);
          else if (v instanceof ArrayBuffer) out.push(new Uint8Array(v));
          else if (typeof v === 'string') out.push(enc.encode(v));
          else if (v !== null && typeof v === 'object') for (const x of Object.values(v)) visit(x);
        };
        for (const storeName of Array.from(db.objectStoreNames)) for (const v of await db.getAll(storeName)) visit(v);
        db.close();
        return out;
      },
      async remove() {
        for (const h of handles) await h.close?.();
        await deleteDB(name);
      },
    };
  }
  const { FileKeyStore } = await nodeOnly('../../src/store/file.js');
  const { mkdtemp, readdir, readFile, rm } = await nodeOnly('node:fs/promises');
  const { tmpdir } = await nodeOnly('node:os');
  const { join } = await nodeOnly('node:path');
  const dir: string = await mkdtemp(join(tmpdir(), 'vecseal-lifecycle-'));
  const handles: KeyStore[] = [];
  const open = async () => {
    const s = (await FileKeyStore.open({ path: dir })) as KeyStore;
    handles.push(s);
    return s;
  };
  const store = await open();
  return {
    store,
    second: open,
    async rawBytes() {
      const files: string[] = (await readdir(dir, { recursive: true, withFileTypes: true }))
        .filter((d: { isFile(): boolean }) => d.isFile())
        .map((d: { parentPath?: string; path?: string; name: string }) => join(d.parentPath ?? d.path, d.name));
      return Promise.all(files.map(async (f) => new Uint8Array(await readFile(f))));
    },
    async remove() {
      for (const h of handles) await h.close?.();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
