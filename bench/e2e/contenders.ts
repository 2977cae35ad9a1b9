/**
 * Who the end-to-end benchmark times, all on the same inputs in the same run:
 *
 * - vecseal through its public API: `encryptVectors` of the whole workload (ids + typed arrays)
 *   with default options, the same with explicit worker counts and backends, and `decryptVectors`;
 *   a fresh client per workload, closed after it.
 * - The plain WebCrypto loop a user would write: one AES-256-GCM key, a random 12-byte nonce and one
 *   `crypto.subtle.encrypt` per record (sequential `await`, and `Promise.all` in slices).
 * - WebCrypto with vecseal's security: a key derived per record with HKDF-SHA256 from one master key
 *   (random salt, the record's context as info and AAD), then AES-256-GCM.
 * - node:crypto `createCipheriv` per record (Node only; in node-crypto.ts so browsers never load it).
 *
 * Each timed run returns a checker that decrypts sample records of that very run and compares them
 * with the inputs (vecseal's also with an independent FORMAT.md decoder), so every number in the
 * tables belongs to output that was shown to decrypt.
 */
import type { BackendName, DecryptedVector, SealedRecord, VecsealClient } from '../../src/index.js';
import { PARALLEL_SLICE } from '../contenders/webcrypto.js';
import { equalBytes, openIndependently, type IndependentContext } from './independent-open.js';
import { COLLECTION, TENANT, type Dataset, type DatasetId } from './workloads.js';

export type Family = 'vecseal' | 'vecseal-config' | 'vecseal-decrypt' | 'webcrypto' | 'derived' | 'node-crypto';

/** Decrypts the run's records at `indices` and throws (naming the contender) on any mismatch. */
export type Checker = (indices: readonly number[]) => Promise<void>;

export interface E2eContender {
  /** Unique within a runtime, e.g. `vecseal`, `vecseal/wasm/w2`, `webcrypto/seq`. */
  readonly key: string;
  readonly family: Family;
  /** Table label, e.g. `WebCrypto, one key`. */
  readonly label: string;
  readonly variant: string | null;
  readonly datasets: readonly DatasetId[];
  /** vecseal configurations: the worker count and backend the client runs with. */
  readonly workers?: number;
  readonly backend?: string;
  /** Always timed on the whole workload (vecseal: the subject of the benchmark). */
  readonly neverCapped?: boolean;
  /** Once per dataset, before warm-up (e.g. sealing what decryptVectors will open). */
  prepare?(d: Dataset): Promise<void>;
  /** Once per dataset, after its rounds. */
  release?(): void;
  /** Once per dataset before its warm-up, untimed: vecseal starts a fresh client here (workers started, backend loaded). */
  open?(): Promise<void>;
  /** Once per dataset after its rounds: vecseal closes that client. */
  close?(): Promise<void>;
  /** The timed call: the whole dataset `d` (or its prefix). */
  run(d: Dataset): Promise<Checker>;
}

const encoder = new TextEncoder();
/** Nonces and salts are drawn in blocks (getRandomValues takes at most 64 KiB per call). */
const RANDOM_BLOCK_RECORDS = 4096;

function fail(who: string, d: Dataset, i: number, why: string): never {
  throw new Error(`cross-check failed: ${who} on ${d.title}, record ${i}: ${why}; refusing to time it`);
}

function bytesOfVector(v: Float32Array | Uint8Array): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/** What vecseal checkers need: a client to open records with and the raw DEK for the independent decoder. */
export interface VecsealCheck {
  /** A separate client (on the calling thread): every configuration's records must open with it (shared store and provider). */
  readonly opener: VecsealClient;
  /** The DEK of COLLECTION/TENANT (unwrapped through the provider), for the independent decoder. */
  dek(): Promise<{ dekId: string; bytes: Uint8Array<ArrayBuffer> }>;
  readonly subtle: SubtleCrypto;
}

async function checkSealed(who: string, check: VecsealCheck, d: Dataset, sealed: readonly SealedRecord[], indices: readonly number[]): Promise<void> {
  if (sealed.length !== d.count) throw new Error(`cross-check failed: ${who} on ${d.title} returned ${sealed.length} records for ${d.count} ids`);
  const picked = indices.map((i) => sealed[i]!);
  picked.forEach((r, k) => {
    if (r.id !== d.ids[indices[k]!]) fail(who, d, indices[k]!, `id ${r.id}, expected ${d.ids[indices[k]!]}`);
    if (r.ciphertext.length !== d.recordBytes + 62) fail(who, d, indices[k]!, `${r.ciphertext.length} bytes, expected ${d.recordBytes} + 62`);
  });
  const opened = await check.opener.decryptVectors({ collection: COLLECTION, tenant: TENANT, dtype: d.dtype, dimension: d.dimension, records: picked });
  opened.forEach((o: DecryptedVector<'float32' | 'uint8'>, k) => {
    const i = indices[k]!;
    if (!o.ok) fail(who, d, i, `decryptVectors failed: ${o.error.message}`);
    if (!equalBytes(bytesOfVector(o.vector), d.bytes[i]!)) fail(who, d, i, 'decryptVectors returned other bytes than were sealed');
  });
  // Two records through a decoder that shares no code with vecseal (FORMAT.md + WebCrypto).
  const { dekId, bytes: dek } = await check.dek();
  for (const i of [indices[0]!, indices[indices.length - 1]!]) {
    const context: IndependentContext = { dekId, collection: COLLECTION, tenant: TENANT, recordId: d.ids[i]!, dtype: d.dtype, dimension: d.dimension };
    let payload: Uint8Array;
    try {
      payload = await openIndependently(check.subtle, dek, context, sealed[i]!.ciphertext);
    } catch (err) {
      fail(who, d, i, `the independent FORMAT.md decoder rejected it (${err instanceof Error ? err.message : String(err)})`);
    }
    if (!equalBytes(payload, d.bytes[i]!)) fail(who, d, i, 'the independent decoder found other bytes than were sealed');
  }
}

/** How a vecseal contender gets a fresh client: the options it passes to createClient. */
export interface ClientConfig {
  /** undefined: the default (hardwareConcurrency - 1). */
  readonly workers: number | undefined;
  readonly backend: 'auto' | BackendName;
}

/** Starts a client with the config (sharing the run's provider and store). */
export type ClientFactory = (config: ClientConfig) => Promise<VecsealClient>;

function workersLabel(n: number): string {
  return `${n} worker${n === 1 ? '' : 's'}`;
}

/**
 * `encryptVectors` of the whole dataset (ids + typed arrays) on a client started fresh for each
 * workload (see E2eContender.open) with the given options.
 */
export function vecsealContender(opts: {
  key: string;
  family: 'vecseal' | 'vecseal-config';
  label: string;
  config: ClientConfig;
  /** The worker count `config.workers` resolves to. */
  workers: number;
  newClient: ClientFactory;
  check: VecsealCheck;
}): E2eContender {
  let client: VecsealClient | undefined;
  return {
    key: opts.key,
    family: opts.family,
    label: opts.label,
    variant: `${workersLabel(opts.workers)}, backend ${opts.config.backend}`,
    datasets: ['768d', '256b'],
    workers: opts.workers,
    backend: opts.config.backend,
    neverCapped: true,
    async open() {
      client = await opts.newClient(opts.config);
      if (client.info.workers !== opts.workers) throw new Error(`${opts.key}: the client runs ${client.info.workers} workers, expected ${opts.workers}`);
    },
    async close() {
      await client?.close();
      client = undefined;
    },
    async run(d) {
      if (!client) throw new Error(`${opts.key}: run before open`);
      const sealed = await client.encryptVectors({ collection: COLLECTION, tenant: TENANT, ids: d.ids, vectors: d.vectors as Float32Array[], dtype: d.dtype });
      return (indices) => checkSealed(opts.key, opts.check, d, sealed, indices);
    },
  };
}

/** `decryptVectors` on a default client, of records sealed (before timing) by another default client. */
export function vecsealDecryptContender(workers: number, newClient: ClientFactory): E2eContender {
  const config: ClientConfig = { workers: undefined, backend: 'auto' };
  let sealed: SealedRecord[] = [];
  let client: VecsealClient | undefined;
  return {
    key: 'vecseal/decrypt',
    family: 'vecseal-decrypt',
    label: 'vecseal decryptVectors',
    variant: `${workersLabel(workers)}, backend auto`,
    datasets: ['768d', '256b'],
    workers,
    backend: 'auto',
    neverCapped: true,
    async prepare(d) {
      const sealer = await newClient(config);
      try {
        sealed = await sealer.encryptVectors({ collection: COLLECTION, tenant: TENANT, ids: d.ids, vectors: d.vectors as Float32Array[], dtype: d.dtype });
      } finally {
        await sealer.close();
      }
    },
    release() {
      sealed = [];
    },
    async open() {
      client = await newClient(config);
    },
    async close() {
      await client?.close();
      client = undefined;
    },
    async run(d) {
      if (!client) throw new Error('vecseal/decrypt: run before open');
      const records = d.count === sealed.length ? sealed : sealed.slice(0, d.count);
      const opened = await client.decryptVectors({ collection: COLLECTION, tenant: TENANT, dtype: d.dtype, dimension: d.dimension, records });
      return async (indices) => {
        if (opened.length !== d.count) throw new Error(`cross-check failed: decryptVectors returned ${opened.length} results for ${d.count} records`);
        for (const i of indices) {
          const o = opened[i]!;
          if (o.id !== d.ids[i]) fail('vecseal decryptVectors', d, i, `id ${o.id}, expected ${d.ids[i]}`);
          if (!o.ok) fail('vecseal decryptVectors', d, i, o.error.message);
          if (!equalBytes(bytesOfVector(o.vector), d.bytes[i]!)) fail('vecseal decryptVectors', d, i, 'other bytes than were sealed');
        }
      };
    },
  };
}

type Drive = <T>(count: number, one: (i: number) => Promise<T>) => Promise<T[]>;

async function sequential<T>(count: number, one: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(count);
  for (let i = 0; i < count; i++) out[i] = await one(i);
  return out;
}

async function sliced<T>(count: number, one: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(count);
  for (let from = 0; from < count; from += PARALLEL_SLICE) {
    const to = Math.min(count, from + PARALLEL_SLICE);
    const pending: Promise<T>[] = new Array(to - from);
    for (let i = from; i < to; i++) pending[i - from] = one(i);
    const done = await Promise.all(pending);
    for (let i = from; i < to; i++) out[i] = done[i - from]!;
  }
  return out;
}

const DRIVES: readonly { id: string; variant: string; drive: Drive }[] = [
  { id: 'seq', variant: 'sequential await', drive: sequential },
  { id: 'all', variant: `Promise.all, slices of ${PARALLEL_SLICE}`, drive: sliced },
];

/** Random bytes for record i, drawn a block of records at a time as the loop advances. */
function randomPerRecord(bytesPerRecord: number): (i: number) => Uint8Array<ArrayBuffer> {
  let block = new Uint8Array(0);
  let blockStart = -1;
  return (i) => {
    const b = Math.floor(i / RANDOM_BLOCK_RECORDS) * RANDOM_BLOCK_RECORDS;
    if (b !== blockStart) {
      block = crypto.getRandomValues(new Uint8Array(bytesPerRecord * RANDOM_BLOCK_RECORDS));
      blockStart = b;
    }
    const at = (i - b) * bytesPerRecord;
    return block.subarray(at, at + bytesPerRecord);
  };
}

interface PlainOut {
  iv: Uint8Array<ArrayBuffer>;
  ct: ArrayBuffer;
}

/** One AES-256-GCM key, a random nonce and one encrypt() per record; stores nonce and ciphertext. */
export async function plainWebCryptoContenders(subtle: SubtleCrypto): Promise<E2eContender[]> {
  const key = await subtle.importKey('raw', crypto.getRandomValues(new Uint8Array(32)), { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
  return DRIVES.map(({ id, variant, drive }) => ({
    key: `webcrypto/${id}`,
    family: 'webcrypto',
    label: 'WebCrypto, one key',
    variant,
    datasets: ['768d', '256b'],
    async run(d) {
      const nonce = randomPerRecord(12);
      const vectors = d.vectors as readonly Float32Array<ArrayBuffer>[];
      const out = await drive<PlainOut>(d.count, (i) => {
        const iv = nonce(i);
        return subtle.encrypt({ name: 'AES-GCM', iv }, key, vectors[i]!).then((ct) => ({ iv, ct }));
      });
      return async (indices) => {
        for (const i of indices) {
          const o = out[i]!;
          let pt: Uint8Array;
          try {
            pt = new Uint8Array(await subtle.decrypt({ name: 'AES-GCM', iv: o.iv }, key, o.ct));
          } catch {
            fail(`WebCrypto (${variant})`, d, i, 'its ciphertext did not decrypt');
          }
          if (!equalBytes(pt, d.bytes[i]!)) fail(`WebCrypto (${variant})`, d, i, 'decrypts to other bytes');
        }
      };
    },
  }));
}

interface DerivedOut {
  salt: Uint8Array<ArrayBuffer>;
  iv: Uint8Array<ArrayBuffer>;
  ct: ArrayBuffer;
}

/**
 * vecseal's security with WebCrypto: per record, HKDF-SHA256 deriveKey from one master key (random
 * 16-byte salt, info = collection/tenant/id), then AES-256-GCM with a random nonce and the same
 * context as AAD. Stores salt, nonce and ciphertext.
 */
export async function derivedKeyContenders(subtle: SubtleCrypto): Promise<E2eContender[]> {
  const master = await subtle.importKey('raw', crypto.getRandomValues(new Uint8Array(32)), 'HKDF', false, ['deriveKey']);
  const aes = { name: 'AES-GCM', length: 256 } as const;
  const deriveFor = (salt: Uint8Array<ArrayBuffer>, info: Uint8Array<ArrayBuffer>, usage: KeyUsage) =>
    subtle.deriveKey({ name: 'HKDF', hash: 'SHA-256', salt, info }, master, aes, false, [usage]);
  const contextOf = (d: Dataset, i: number) => encoder.encode(`${COLLECTION}/${TENANT}/${d.ids[i]!}`);
  return DRIVES.map(({ id, variant, drive }) => ({
    key: `derived/${id}`,
    family: 'derived',
    label: 'WebCrypto, HKDF key per record',
    variant,
    datasets: ['768d', '256b'],
    async run(d) {
      const salts = randomPerRecord(16);
      const nonces = randomPerRecord(12);
      const vectors = d.vectors as readonly Float32Array<ArrayBuffer>[];
      const out = await drive<DerivedOut>(d.count, async (i) => {
        const info = contextOf(d, i);
        const salt = salts(i);
        const iv = nonces(i);
        const key = await deriveFor(salt, info, 'encrypt');
        const ct = await subtle.encrypt({ name: 'AES-GCM', iv, additionalData: info }, key, vectors[i]!);
        return { salt, iv, ct };
      });
      return async (indices) => {
        for (const i of indices) {
          const o = out[i]!;
          const info = contextOf(d, i);
          let pt: Uint8Array;
          try {
            const key = await deriveFor(o.salt, info, 'decrypt');
            pt = new Uint8Array(await subtle.decrypt({ name: 'AES-GCM', iv: o.iv, additionalData: info }, key, o.ct));
          } catch {
            fail(`derived-key WebCrypto (${variant})`, d, i, 'its ciphertext did not decrypt');
          }
          if (!equalBytes(pt, d.bytes[i]!)) fail(`derived-key WebCrypto (${variant})`, d, i, 'decrypts to other bytes');
        }
      };
    },
  }));
}

/** The backends a runtime offers by name, for the backend table. */
export type { BackendName };
