/**
 * The end-to-end benchmark's workloads and presets: what every contender is asked to do, through
 * the public API (vecseal) or the loop a user would write (the baselines).
 *
 * - 768-d: 100,000 float32 embeddings of 768 dimensions (3072 bytes each), as `Float32Array` rows
 *   cut from one model-output tensor, with string ids.
 * - 256-B: 100,000 records of 256 bytes (`Uint8Array`, sealed by vecseal as dtype `uint8`).
 * - stream: 1,000,000 768-d records made lazily by an async generator, sealed by `encryptStream`
 *   and discarded (never 3 GB in memory at once).
 *
 * Inputs are made before timing and shared by every contender, so each one seals the same bytes.
 */

export type E2ePresetName = 'full' | 'quick';
export type DatasetId = '768d' | '256b';

export interface E2ePreset {
  readonly name: E2ePresetName;
  readonly records768: number;
  readonly records256: number;
  readonly streamRecords: number;
  /** Records of the lazily generated stream's warm-up (client and JIT warm, before the memory baseline). */
  readonly streamWarmupRecords: number;
  /** Timed rounds per contender, interleaved (each round runs every contender once, in a rotated order). */
  readonly rounds: number;
  /** Records of the warm-up slice every contender seals (and is cross-checked on) before timing. */
  readonly warmupRecords: number;
  /**
   * A contender whose warm-up rate predicts a round longer than this many seconds is timed on a
   * prefix of the workload instead (the same prefix in every round), sized to about this long. Per-
   * record loops have a constant per-record cost, so the rate carries over; the table says so.
   */
  readonly roundCapSeconds: number;
}

export const E2E_PRESETS: Readonly<Record<E2ePresetName, E2ePreset>> = {
  full: {
    name: 'full',
    records768: 100_000,
    records256: 100_000,
    streamRecords: 1_000_000,
    streamWarmupRecords: 20_000,
    rounds: 3,
    warmupRecords: 5_000,
    roundCapSeconds: 2.5,
  },
  quick: {
    name: 'quick',
    records768: 10_000,
    records256: 10_000,
    streamRecords: 100_000,
    streamWarmupRecords: 5_000,
    rounds: 1,
    warmupRecords: 1_000,
    roundCapSeconds: 2,
  },
};

export function isPresetName(s: string): s is E2ePresetName {
  return s === 'full' || s === 'quick';
}

export const COLLECTION = 'docs';
export const TENANT = 'acme';
export const DIMENSION_768 = 768;
export const RECORD_BYTES_256 = 256;

/** One workload's inputs, shared by every contender. */
export interface Dataset {
  readonly id: DatasetId;
  readonly title: string;
  readonly count: number;
  /** Plaintext bytes per record. */
  readonly recordBytes: number;
  readonly dtype: 'float32' | 'uint8';
  /** Elements per vector, as vecseal's context binds it. */
  readonly dimension: number;
  readonly ids: readonly string[];
  /** Float32Array rows (768-d) or Uint8Array records (256-B), views into one buffer. */
  readonly vectors: readonly (Float32Array | Uint8Array)[];
  /** The same records as byte views, for baselines and for comparing outputs. */
  readonly bytes: readonly Uint8Array<ArrayBuffer>[];
}

/** The first `n` records of a dataset (views and array slices; made outside timing). */
export function prefix(d: Dataset, n: number): Dataset {
  if (n >= d.count) return d;
  return { ...d, count: n, ids: d.ids.slice(0, n), vectors: d.vectors.slice(0, n), bytes: d.bytes.slice(0, n) };
}

/** A small, fast, seeded generator (xorshift32): plausible embedding values without Math.random's cost. */
export function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

export function recordId(prefixText: string, i: number): string {
  return `${prefixText}-${String(i).padStart(9, '0')}`;
}

/** count x 768-d float32 embeddings in [-1, 1), one tensor cut into row views. */
export function makeDataset768(count: number, seed = 768): Dataset {
  const next = xorshift(seed);
  const tensor = new Float32Array(count * DIMENSION_768);
  for (let i = 0; i < tensor.length; i++) tensor[i] = next() / 2 ** 31 - 1;
  const vectors: Float32Array[] = new Array(count);
  const bytes: Uint8Array<ArrayBuffer>[] = new Array(count);
  const ids: string[] = new Array(count);
  const rowBytes = DIMENSION_768 * 4;
  for (let i = 0; i < count; i++) {
    vectors[i] = tensor.subarray(i * DIMENSION_768, (i + 1) * DIMENSION_768);
    bytes[i] = new Uint8Array(tensor.buffer, i * rowBytes, rowBytes);
    ids[i] = recordId('doc', i);
  }
  return {
    id: '768d',
    title: `${count.toLocaleString('en-US')} × 768-d float32 (3072 B)`,
    count,
    recordBytes: rowBytes,
    dtype: 'float32',
    dimension: DIMENSION_768,
    ids,
    vectors,
    bytes,
  };
}

/** count x 256-byte records (random bytes), cut from one buffer. */
export function makeDataset256(count: number, seed = 256): Dataset {
  const next = xorshift(seed);
  const all = new Uint8Array(count * RECORD_BYTES_256);
  const words = new Uint32Array(all.buffer);
  for (let i = 0; i < words.length; i++) words[i] = next();
  const vectors: Uint8Array<ArrayBuffer>[] = new Array(count);
  const ids: string[] = new Array(count);
  for (let i = 0; i < count; i++) {
    vectors[i] = all.subarray(i * RECORD_BYTES_256, (i + 1) * RECORD_BYTES_256);
    ids[i] = recordId('rec', i);
  }
  return {
    id: '256b',
    title: `${count.toLocaleString('en-US')} × 256 B (uint8)`,
    count,
    recordBytes: RECORD_BYTES_256,
    dtype: 'uint8',
    dimension: RECORD_BYTES_256,
    ids,
    vectors,
    bytes: vectors,
  };
}

/** Rows the lazy stream cycles through; each record is a fresh Float32Array copied from one. */
const STREAM_POOL_ROWS = 1024;

/** The stream's source: records made one at a time, as an embedding model would emit them. */
export class StreamSource {
  readonly #pool: Float32Array;

  constructor(seed = 1_000_003) {
    const next = xorshift(seed);
    this.#pool = new Float32Array(STREAM_POOL_ROWS * DIMENSION_768);
    for (let i = 0; i < this.#pool.length; i++) this.#pool[i] = next() / 2 ** 31 - 1;
  }

  /** Record i's vector: row i mod 1024 of the pool with element 0 set to i, so every record differs. */
  vector(i: number): Float32Array {
    const row = i % STREAM_POOL_ROWS;
    const v = new Float32Array(DIMENSION_768);
    v.set(this.#pool.subarray(row * DIMENSION_768, (row + 1) * DIMENSION_768));
    v[0] = i;
    return v;
  }

  id(i: number): string {
    return recordId('s', i);
  }

  /** Records [from, from + count), generated lazily. */
  async *records(from: number, count: number): AsyncGenerator<{ id: string; vector: Float32Array }> {
    for (let i = from; i < from + count; i++) yield { id: this.id(i), vector: this.vector(i) };
  }
}
