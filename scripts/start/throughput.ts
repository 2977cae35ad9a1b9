/**
 * Throughput of sealing and opening the GloVe records (100-d float32 + word) through the public API,
 * next to the loop an app would write by hand with WebCrypto (one AES-256-GCM key, a random 96-bit
 * nonce per record, every record in flight at once, no context binding, no key commitment), in the
 * same process and run. Outputs are checked before anything is timed; each side runs ROUNDS times,
 * alternating, and the best round counts (the machine is shared: the best is the least disturbed).
 */
import { createClient, type KeyProvider, type PlainRecord } from '../../src/index.js';
import { check } from './fail.js';
import { unsealedRow } from '../../demo/data/leak-scan.js';

const ROUNDS = 3;
const IV_BYTES = 12;

export interface Rate {
  ms: number;
  recordsPerSecond: number;
  megabytesPerSecond: number;
}

export interface Throughput {
  records: number;
  /** Plaintext bytes per round: vector bytes plus word bytes. */
  bytes: number;
  workers: number;
  seal: Rate;
  open: Rate;
  webCryptoSeal: Rate;
  webCryptoOpen: Rate;
}

function rate(ms: number, records: number, bytes: number): Rate {
  return { ms, recordsPerSecond: records / (ms / 1000), megabytesPerSecond: bytes / 1e6 / (ms / 1000) };
}

function best(times: number[]): number {
  return Math.min(...times);
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * @param provider the run's current KEK (it wraps the benchmark's one DEK, kept in memory)
 */
export async function measureThroughput(provider: KeyProvider, words: readonly string[], vectors: readonly Float32Array[]): Promise<Throughput> {
  const client = await createClient({ provider });
  try {
    const scope = { collection: 'throughput', tenant: 'bench', modelId: 'glove-6b-100d' };
    const records: PlainRecord[] = words.map((word, i) => ({ id: `r${i}`, vector: vectors[i]!, text: word }));
    const plain = words.map((word, i) => unsealedRow(vectors[i]!, word));
    const bytes = plain.reduce((n, p) => n + p.length, 0);
    const dimension = vectors[0]!.length;

    const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
    const webSeal = async (): Promise<{ iv: Uint8Array<ArrayBuffer>; ct: ArrayBuffer }[]> =>
      Promise.all(
        plain.map(async (p) => {
          const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
          return { iv, ct: await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, key, p as Uint8Array<ArrayBuffer>) };
        }),
      );
    const webOpen = async (sealed: { iv: Uint8Array<ArrayBuffer>; ct: ArrayBuffer }[]): Promise<ArrayBuffer[]> =>
      Promise.all(sealed.map((s) => crypto.subtle.decrypt({ name: 'AES-GCM', iv: s.iv }, key, s.ct)));

    // Warm-up and cross-check: both sides give back exactly what went in.
    const sealed = await client.encryptRecords({ ...scope, records });
    const opened = await client.decryptRecords({ ...scope, dimension, records: sealed });
    check(opened.every((o, i) => o.ok && o.text === words[i] && o.vector.every((x, j) => x === vectors[i]![j])), 'vecseal opens the benchmark records to what was sealed');
    const webSealed = await webSeal();
    const webOpened = await webOpen(webSealed);
    check(webOpened.every((b, i) => same(new Uint8Array(b), plain[i]!)), 'the WebCrypto loop decrypts to what it encrypted');

    const t = { seal: [] as number[], open: [] as number[], webSeal: [] as number[], webOpen: [] as number[] };
    for (let round = 0; round < ROUNDS; round++) {
      let t0 = performance.now();
      const s = await client.encryptRecords({ ...scope, records });
      t.seal.push(performance.now() - t0);
      t0 = performance.now();
      await client.decryptRecords({ ...scope, dimension, records: s });
      t.open.push(performance.now() - t0);
      t0 = performance.now();
      const w = await webSeal();
      t.webSeal.push(performance.now() - t0);
      t0 = performance.now();
      await webOpen(w);
      t.webOpen.push(performance.now() - t0);
    }
    const n = records.length;
    return {
      records: n,
      bytes,
      workers: client.info.workers,
      seal: rate(best(t.seal), n, bytes),
      open: rate(best(t.open), n, bytes),
      webCryptoSeal: rate(best(t.webSeal), n, bytes),
      webCryptoOpen: rate(best(t.webOpen), n, bytes),
    };
  } finally {
    await client.close();
  }
}
