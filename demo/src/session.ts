/**
 * The demo's keys: a non-extractable AES-256-GCM KEK kept in IndexedDB (so it survives a reload,
 * and no script, this page's included, can read its bytes), wrapped DEKs in an IndexedDbKeyStore,
 * and an ECDSA P-256 signer (also non-extractable, also in IndexedDB) for audit checkpoints and
 * shred receipts. `openSession` finds what an earlier visit left, or makes it.
 */
import { deleteDB, openDB } from 'idb';
import { createClient, IndexedDbKeyStore, WebCryptoKeyProvider, type VecsealClient } from '../../src/index.js';

export const COLLECTION = 'glove';
export const KEY_DATABASE = 'vecseal-demo-keys';
export const KEK_DATABASE = 'vecseal-demo-keks';
const SIGNER_DATABASE = 'vecseal-demo-signer';
const KEK_GENERATION = 'vecseal-demo:kek-generation';
/** Set while a KEK rotation runs: the generation being retired, still needed for DEKs not yet re-wrapped. */
const KEK_RETIRING = 'vecseal-demo:kek-retiring';
/** Sign a checkpoint of the audit log every this many entries (and before each verification). */
export const CHECKPOINT_EVERY = 50;

export interface Session {
  client: VecsealClient;
  provider: WebCryptoKeyProvider;
  store: IndexedDbKeyStore;
  /** Verifies audit checkpoints and shred receipts. */
  publicKey: CryptoKey;
  /** 1 for the first KEK, +1 at each rotateKek. */
  kekGeneration: number;
  /** The KEK an interrupted rotation was retiring (it still unwraps the DEKs not yet re-wrapped). */
  retiring: WebCryptoKeyProvider | undefined;
}

function kekIdOf(generation: number): string {
  return `demo-kek-${generation}`;
}

function generation(key: string, fallback: number | undefined): number | undefined {
  const text = localStorage.getItem(key);
  const n = Number(text);
  return text !== null && Number.isInteger(n) && n >= 1 ? n : fallback;
}

async function openSigner(): Promise<CryptoKeyPair> {
  const db = await openDB(SIGNER_DATABASE, 1, { upgrade: (d) => d.createObjectStore('keys') });
  try {
    const found = (await db.get('keys', 'audit')) as CryptoKeyPair | undefined;
    if (found) return found;
    const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
    await db.put('keys', pair, 'audit');
    return pair;
  } finally {
    db.close();
  }
}

/** Opens (or on the first visit creates) the KEK, the key store, the signer and a client over them. */
export async function openSession(): Promise<Session> {
  const kekGeneration = generation(KEK_GENERATION, 1)!;
  const retiringGeneration = generation(KEK_RETIRING, undefined);
  const provider = await WebCryptoKeyProvider.persistent({ kekId: kekIdOf(kekGeneration), databaseName: KEK_DATABASE });
  const retiring = retiringGeneration === undefined ? undefined : await WebCryptoKeyProvider.persistent({ kekId: kekIdOf(retiringGeneration), databaseName: KEK_DATABASE });
  const store = await IndexedDbKeyStore.open({ databaseName: KEY_DATABASE });
  const signer = await openSigner();
  const client = await createClient({
    provider,
    previousProviders: retiring ? [retiring] : [],
    store,
    audit: { signer: signer.privateKey, checkpointEvery: CHECKPOINT_EVERY },
    principal: { id: 'demo-user', roles: ['admin'] },
  });
  return { client, provider, store, publicKey: signer.publicKey, kekGeneration, retiring };
}

/**
 * KEK rotation: a new persistent KEK, every DEK re-wrapped under it (records untouched), then a
 * client holding only the new KEK, and the old one destroyed. The generations are recorded before the
 * re-wrap starts, so a page closed midway reopens with both KEKs and the next click finishes the job
 * (rotateKek skips DEKs already under the new KEK) instead of starting another.
 * @returns the new session and how many DEK versions were re-wrapped
 */
export async function rotateKek(session: Session): Promise<{ session: Session; rewrapped: number; retired: string }> {
  let { provider: next, retiring } = session;
  if (retiring === undefined) {
    retiring = session.provider;
    next = await WebCryptoKeyProvider.persistent({ kekId: kekIdOf(session.kekGeneration + 1), databaseName: KEK_DATABASE });
    localStorage.setItem(KEK_RETIRING, String(session.kekGeneration));
    localStorage.setItem(KEK_GENERATION, String(session.kekGeneration + 1));
  }
  const result = await session.client.keys.rotateKek(next);
  await session.client.close();
  await session.store.close();
  // Forget the retiring generation first: if the page closes before the destroy, the old KEK lingers unused, no DEK needs it.
  localStorage.removeItem(KEK_RETIRING);
  await retiring.destroy();
  return { session: await openSession(), rewrapped: result.rewrapped, retired: retiring.kekId };
}

/** Forgets every key the demo made (the Reset button): KEKs, wrapped DEKs, the audit log, the signer. */
export async function deleteKeys(session: Session | undefined): Promise<void> {
  await session?.client.close().catch(() => undefined);
  await session?.store.close().catch(() => undefined);
  localStorage.removeItem(KEK_GENERATION);
  localStorage.removeItem(KEK_RETIRING);
  for (const name of [KEY_DATABASE, KEK_DATABASE, SIGNER_DATABASE]) await deleteDB(name);
}
