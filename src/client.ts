/**
 * The vecseal client: what an app calls. It finds (or creates) the DEK of a collection and tenant,
 * wraps new DEKs with the provider and keeps them in the store, and seals and opens embeddings (with
 * optional text and JSON metadata) in batches on the engine's workers.
 *
 * ```ts
 * const client = await createClient({ provider: await WebCryptoKeyProvider.generate() });
 * const sealed = await client.encryptVectors({ collection: 'docs', ids, vectors });
 * const opened = await client.decryptVectors({ collection: 'docs', dimension: 768, records: sealed });
 * await client.close();
 * ```
 */
import type { BackendChoice } from './backends/index.js';
import { AbortedError, FormatError, InvalidInputError, VecsealError } from './errors.js';
import { bytesToVector, contextEncoder, DTYPE_CODES, decodePayload, encodePayload, vectorByteLength, vectorToBytes, type BatchContext, type Dtype, type SuiteId, type VectorArray, type VectorTypes } from './format/index.js';
import type { KeyProvider } from './kms/provider.js';
import type { CacheLimits } from './keys/cache.js';
import { dekIdFor, KeyManager, type KeyEvent } from './keys/manager.js';
import { MemoryKeyStore } from './store/memory.js';
import type { KeyStore, StoredDek } from './store/store.js';
import { Engine, type RunOptions } from './worker/engine.js';

export interface ClientOptions {
  /** Holds the KEK that wraps every DEK. */
  provider: KeyProvider;
  /** Keeps wrapped DEKs (default: in memory, lost when the process ends). */
  store?: KeyStore;
  /** Worker count; 0 runs everything on the calling thread. Default hardwareConcurrency - 1 (at least 1). */
  workers?: number;
  /** Cipher backend; `auto` (default) picks the fastest for the runtime and record size. */
  backend?: BackendChoice;
  /** Record suite for new records: 0x01 (default, 128-bit commitment) or 0x02 (256-bit). */
  suite?: SuiteId;
  /** Rotate a DEK automatically before it has sealed this many records (default: no limit). */
  maxRecordsPerDek?: number;
  /** Limits on unwrapped DEKs in worker memory: maxAgeMs (default 5 min), maxRecords, maxBytes. */
  cache?: CacheLimits;
  /** BroadcastChannel name for state changes between clients and tabs (default 'vecseal-keys'); false: none. */
  channel?: string | false;
  /** Receives every key operation (generate, unwrap, cache hit/miss, rotate, state change, destroy); never key bytes. */
  onKeyEvent?: (event: KeyEvent) => void | Promise<void>;
}

/** Where records live; bound into every record, so a record moved elsewhere does not open. */
export interface Scope {
  collection: string;
  /** '' (default) for single-tenant apps. */
  tenant?: string;
  /** Embedding model id, bound when given. */
  modelId?: string;
  /** Extra caller fields bound to every record of the call. */
  fields?: Readonly<Record<string, string>>;
}

export interface EncryptVectorsInput extends Scope {
  /** One id per vector (the row id in your database). */
  ids: readonly string[];
  /** One typed array per vector, or one packed row-major matrix. */
  vectors: readonly VectorArray[] | VectorArray;
  /** Default: from the array type (Float32Array: float32, Uint16Array: float16, Int8Array: int8, Uint8Array: uint8). */
  dtype?: Dtype;
  /** Elements per vector (bits for binary). Default: from the vectors. */
  dimension?: number;
}

/** What to store: the record id and its sealed bytes. */
export interface SealedRecord {
  id: string;
  ciphertext: Uint8Array;
}

export interface DecryptVectorsInput extends Scope {
  records: readonly SealedRecord[];
  /** The dtype and dimension the records were sealed with (they are bound; another value fails). */
  dtype?: Dtype;
  dimension: number;
}

export type DecryptedVector<D extends Dtype = 'float32'> =
  | { id: string; ok: true; vector: VectorTypes[D] }
  | { id: string; ok: false; error: VecsealError };

export interface PlainRecord {
  id: string;
  vector: VectorArray;
  text?: string;
  metadata?: unknown;
}

export interface EncryptRecordsInput extends Scope {
  records: readonly PlainRecord[];
  dtype?: Dtype;
  dimension?: number;
}

export type DecryptedRecord<D extends Dtype = 'float32'> =
  | { id: string; ok: true; vector: VectorTypes[D]; text?: string; metadata?: unknown }
  | { id: string; ok: false; error: VecsealError };

export interface StreamOptions extends Scope {
  dtype?: Dtype;
  /** Required: a stream's first record may not be at hand to infer it from. */
  dimension: number;
  /** Records per batch (default 4096). */
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (done: number) => void;
}

const DEFAULT_STREAM_BATCH = 4096;

function dtypeOf(vector: unknown): Dtype {
  if (vector instanceof Float32Array) return 'float32';
  if (vector instanceof Uint16Array) return 'float16';
  if (vector instanceof Int8Array) return 'int8';
  if (vector instanceof Uint8Array) return 'uint8';
  throw new InvalidInputError(`a vector must be a Float32Array, Uint16Array (float16), Int8Array or Uint8Array; got ${vector === null ? 'null' : ((vector as object)?.constructor?.name ?? typeof vector)}`);
}

function elementsToDimension(dtype: Dtype, vector: VectorArray): number {
  return dtype === 'binary' ? vector.length * 8 : vector.length;
}

function checkDtype(dtype: Dtype): Dtype {
  if (!(dtype in DTYPE_CODES)) throw new InvalidInputError(`dtype must be one of ${Object.keys(DTYPE_CODES).join(', ')}; got ${String(dtype)}`);
  return dtype;
}

/** The vectors of a call as payload bytes, with their dtype and dimension. */
function vectorRows(vectors: readonly VectorArray[] | VectorArray, count: number, dtype?: Dtype, dimension?: number): { dtype: Dtype; dimension: number; rows: Uint8Array[] } {
  if (Array.isArray(vectors)) {
    if (vectors.length !== count) throw new InvalidInputError(`${count} ids but ${vectors.length} vectors`);
    const dt = checkDtype(dtype ?? (vectors.length > 0 ? dtypeOf(vectors[0]) : 'float32'));
    const dim = dimension ?? (vectors.length > 0 ? elementsToDimension(dt, vectors[0]!) : 0);
    return { dtype: dt, dimension: dim, rows: vectors.map((v, i) => withIndex(i, () => vectorToBytes(v, dt, dim))) };
  }
  const matrix = vectors as VectorArray;
  const dt = checkDtype(dtype ?? dtypeOf(matrix));
  const bytes = vectorToBytes(matrix, dt, dt === 'binary' ? matrix.length * 8 : matrix.length);
  if (count === 0) {
    if (bytes.length !== 0) throw new InvalidInputError('no ids for a non-empty matrix');
    return { dtype: dt, dimension: dimension ?? 0, rows: [] };
  }
  const rowBytes = bytes.length / count;
  const dim = dimension ?? (dt === 'binary' ? rowBytes * 8 : rowBytes / (dt === 'float32' ? 4 : dt === 'float16' ? 2 : 1));
  if (!Number.isInteger(rowBytes) || vectorByteLength(dt, dim) !== rowBytes) {
    throw new InvalidInputError(`a packed matrix of ${bytes.length} bytes is not ${count} rows of ${dt}[${dim}]`);
  }
  const rows: Uint8Array[] = new Array(count);
  for (let i = 0; i < count; i++) rows[i] = bytes.subarray(i * rowBytes, (i + 1) * rowBytes);
  return { dtype: dt, dimension: dim, rows };
}

function withIndex<T>(i: number, f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof InvalidInputError) throw new InvalidInputError(`record ${i}: ${err.message}`);
    throw err;
  }
}

function checkIds(ids: readonly string[]): void {
  if (!Array.isArray(ids)) throw new InvalidInputError('ids must be an array of strings');
  ids.forEach((id, i) => {
    if (typeof id !== 'string') throw new InvalidInputError(`ids[${i}] must be a string; got ${typeof id}`);
  });
}

function checkScope(scope: Scope): { collection: string; tenant: string } {
  if (scope === null || typeof scope !== 'object') throw new InvalidInputError('expected an object with collection (and optional tenant)');
  if (typeof scope.collection !== 'string' || scope.collection === '') throw new InvalidInputError('collection must be a non-empty string');
  const tenant = scope.tenant ?? '';
  if (typeof tenant !== 'string') throw new InvalidInputError('tenant must be a string');
  return { collection: scope.collection, tenant };
}

export { dekIdFor };

/** Key version of a record from its header (FORMAT.md section 1), or -1 if it is too short to have one. */
function recordKeyVersion(record: unknown): number {
  if (!(record instanceof Uint8Array) || record.length < 10) return -1;
  return ((record[6]! << 24) | (record[7]! << 16) | (record[8]! << 8) | record[9]!) >>> 0;
}

export class VecsealClient {
  readonly #engine: Engine;
  readonly #keys: KeyManager;

  /** @internal use createClient */
  constructor(keys: KeyManager, engine: Engine) {
    this.#keys = keys;
    this.#engine = engine;
  }

  /**
   * The key lifecycle: rotateDek, rotateKek, suspend, resume, destroy (crypto-shredding), versions.
   * @example await client.keys.rotateDek({ collection: 'docs', tenant: 'acme' });
   */
  get keys(): KeyManager {
    return this.#keys;
  }

  /** Worker count and backend in use. */
  get info(): { workers: number; backend: BackendChoice } {
    return { workers: this.#engine.workers, backend: this.#engine.backend };
  }

  /**
   * Seals vectors (one per id) under the collection's and tenant's active DEK.
   * @returns one sealed record per id, in input order
   * @throws InvalidInputError for bad input (nothing is sealed), AbortedError, KeyStateError, ProviderError
   */
  async encryptVectors(input: EncryptVectorsInput, options: RunOptions = {}): Promise<SealedRecord[]> {
    const scope = checkScope(input);
    checkIds(input.ids);
    const { dtype, dimension, rows } = vectorRows(input.vectors, input.ids.length, input.dtype, input.dimension);
    return this.#seal(input, scope, dtype, dimension, input.ids, rows, options);
  }

  /**
   * Opens sealed vectors. Each record gets its own result: a record that fails (tampered, moved,
   * wrong dtype or dimension, unknown key version) reports its error and the others still open.
   * @throws InvalidInputError for malformed arguments
   */
  async decryptVectors<D extends Dtype = 'float32'>(input: DecryptVectorsInput & { dtype?: D }, options: RunOptions = {}): Promise<DecryptedVector<D>[]> {
    const opened = await this.#open(input, options);
    const dtype = (input.dtype ?? 'float32') as D;
    const length = vectorByteLength(dtype, input.dimension);
    return opened.map(({ id, payload, error }) => {
      if (error) return { id, ok: false, error };
      if (payload!.length !== length) return { id, ok: false, error: new InvalidInputError(`record ${id} holds text or metadata; open it with decryptRecords`) };
      return { id, ok: true, vector: bytesToVector(payload!, dtype) };
    });
  }

  /**
   * Seals records of a vector with optional text and JSON metadata (all in the ciphertext).
   * @throws InvalidInputError for bad input (nothing is sealed)
   */
  async encryptRecords(input: EncryptRecordsInput, options: RunOptions = {}): Promise<SealedRecord[]> {
    const scope = checkScope(input);
    if (!Array.isArray(input.records)) throw new InvalidInputError('records must be an array');
    const ids = input.records.map((r, i) => withIndex(i, () => (typeof r?.id === 'string' ? r.id : failId())));
    const { dtype, dimension, rows } = vectorRows(input.records.map((r) => r.vector), ids.length, input.dtype, input.dimension);
    const payloads = rows.map((row, i) => withIndex(i, () => encodePayload(row, input.records[i]!.text, input.records[i]!.metadata)));
    return this.#seal(input, scope, dtype, dimension, ids, payloads, options);
  }

  /** Opens records sealed by encryptRecords (or encryptVectors), one result per record. */
  async decryptRecords<D extends Dtype = 'float32'>(input: DecryptVectorsInput & { dtype?: D }, options: RunOptions = {}): Promise<DecryptedRecord<D>[]> {
    const opened = await this.#open(input, options);
    const dtype = (input.dtype ?? 'float32') as D;
    const length = vectorByteLength(dtype, input.dimension);
    return opened.map(({ id, payload, error }): DecryptedRecord<D> => {
      if (error) return { id, ok: false, error };
      try {
        const decoded = decodePayload(payload!, length);
        const out: DecryptedRecord<D> = { id, ok: true, vector: bytesToVector(decoded.vector, dtype) };
        if (decoded.text !== undefined) out.text = decoded.text;
        if (decoded.metadata !== undefined) out.metadata = decoded.metadata;
        return out;
      } catch (err) {
        return { id, ok: false, error: err as VecsealError };
      }
    });
  }

  /**
   * Seals a stream of records batch by batch, with bounded memory: at most a few batches are in
   * flight, and the source is read only as fast as the consumer takes sealed records.
   */
  async *encryptStream(source: AsyncIterable<PlainRecord> | Iterable<PlainRecord>, options: StreamOptions): AsyncGenerator<SealedRecord> {
    const { batchSize, signal, onProgress, ...input } = options;
    checkScope(input);
    if (!Number.isInteger(input.dimension)) throw new InvalidInputError('dimension is required for a stream');
    yield* this.#pipeline(source, batchSize, signal, onProgress, (batch) => this.encryptRecords({ ...input, records: batch }, { signal }));
  }

  /** Opens a stream of sealed records, batch by batch; each record gets its own result. */
  async *decryptStream<D extends Dtype = 'float32'>(source: AsyncIterable<SealedRecord> | Iterable<SealedRecord>, options: StreamOptions & { dtype?: D }): AsyncGenerator<DecryptedRecord<D>> {
    const { batchSize, signal, onProgress, ...input } = options;
    checkScope(input);
    yield* this.#pipeline(source, batchSize, signal, onProgress, (batch) => this.decryptRecords<D>({ ...input, records: batch }, { signal }));
  }

  /** Wipes every DEK in every worker and ends the workers. */
  async close(): Promise<void> {
    await this.#keys.close();
    await this.#engine.close();
  }

  async *#pipeline<I, O>(source: AsyncIterable<I> | Iterable<I>, batchSize = DEFAULT_STREAM_BATCH, signal: AbortSignal | undefined, onProgress: ((done: number) => void) | undefined, run: (batch: I[]) => Promise<O[]>): AsyncGenerator<O> {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new InvalidInputError(`batchSize must be a positive integer; got ${String(batchSize)}`);
    // One batch per worker in flight, plus one being filled: enough to keep every worker busy.
    const depth = Math.max(1, this.#engine.workers) + 1;
    const inFlight: Promise<O[]>[] = [];
    let done = 0;
    let batch: I[] = [];
    const flush = () => {
      const p = run(batch);
      p.catch(() => undefined); // awaited in order below; avoid an unhandled rejection meanwhile
      inFlight.push(p);
      batch = [];
    };
    try {
      for await (const item of source as AsyncIterable<I>) {
        batch.push(item);
        if (batch.length >= batchSize) flush();
        while (inFlight.length >= depth) {
          const out = await inFlight.shift()!;
          done += out.length;
          onProgress?.(done);
          yield* out;
        }
        if (signal?.aborted) break;
      }
      if (batch.length > 0) flush();
      while (inFlight.length > 0) {
        const out = await inFlight.shift()!;
        done += out.length;
        onProgress?.(done);
        yield* out;
      }
    } finally {
      await Promise.allSettled(inFlight);
    }
    if (signal?.aborted) throw signal.reason instanceof VecsealError ? signal.reason : new AbortedError('the stream was aborted');
  }

  async #seal(input: Scope, scope: { collection: string; tenant: string }, dtype: Dtype, dimension: number, ids: readonly string[], payloads: Uint8Array[], options: RunOptions): Promise<SealedRecord[]> {
    const context = this.#context(input, scope, dtype, dimension, '');
    checkContextEarly(context);
    const dek = await this.#keys.dekForSeal(scope, ids.length);
    context.dekId = dek.dekId;
    const handle = this.#keys.handleFor(dek);
    const records = await this.#engine.seal(handle, context, ids, payloads, options);
    await this.#keys.recordUsage(dek, ids.length);
    this.#keys.bytesUsed(dek, payloads.reduce((n, p) => n + p.length, 0));
    return records.map((ciphertext, i) => ({ id: ids[i]!, ciphertext }));
  }

  async #open(input: DecryptVectorsInput, options: RunOptions): Promise<{ id: string; payload?: Uint8Array; error?: VecsealError }[]> {
    const scope = checkScope(input);
    if (!Array.isArray(input.records)) throw new InvalidInputError('records must be an array of { id, ciphertext }');
    const ids = input.records.map((r, i) => withIndex(i, () => (typeof r?.id === 'string' ? r.id : failId())));
    input.records.forEach((r, i) => {
      if (!(r.ciphertext instanceof Uint8Array)) throw new InvalidInputError(`records[${i}].ciphertext must be a Uint8Array`);
    });
    const dtype = checkDtype(input.dtype ?? 'float32');
    const dekId = dekIdFor(scope.collection, scope.tenant);
    const context = this.#context(input, scope, dtype, input.dimension, dekId);
    checkContextEarly(context);
    const out: { id: string; payload?: Uint8Array; error?: VecsealError }[] = ids.map((id) => ({ id }));

    // Records name their DEK version in the header; open each version's records together.
    const byVersion = new Map<number, number[]>();
    input.records.forEach((r, i) => {
      const v = recordKeyVersion(r.ciphertext);
      const list = byVersion.get(v);
      if (list) list.push(i);
      else byVersion.set(v, [i]);
    });
    let done = 0;
    for (const [version, indexes] of byVersion) {
      let stored: StoredDek;
      try {
        if (version < 0) throw new FormatError('record too short to hold a header');
        stored = await this.#keys.dekForOpen(dekId, version, scope);
      } catch (err) {
        if (!(err instanceof VecsealError)) throw err;
        for (const i of indexes) out[i]!.error = err;
        continue;
      }
      const handle = this.#keys.handleFor(stored);
      const result = await this.#engine.open(handle, context, indexes.map((i) => ids[i]!), indexes.map((i) => input.records[i]!.ciphertext), {
        signal: options.signal,
        onProgress: options.onProgress && ((n) => options.onProgress!(done + n, ids.length)),
      });
      done += indexes.length;
      indexes.forEach((i, k) => {
        if (result.errors[k]) out[i]!.error = result.errors[k];
        else out[i]!.payload = result.payloads[k];
      });
    }
    return out;
  }

  #context(input: Scope, scope: { collection: string; tenant: string }, dtype: Dtype, dimension: number, dekId: string): BatchContext {
    const context: BatchContext = { dekId, collection: scope.collection, tenant: scope.tenant, dtype, dimension };
    if (input.modelId !== undefined) context.modelId = input.modelId;
    if (input.fields !== undefined) context.fields = input.fields;
    return context;
  }
}

function failId(): never {
  throw new InvalidInputError('every record needs a string id');
}

/** Validates a context's shared fields before any key is fetched (a bad dtype fails fast). */
function checkContextEarly(context: BatchContext): void {
  contextEncoder(context);
}

/**
 * Creates a client. Workers start (and their backend loads) before this resolves.
 * @throws InvalidInputError for bad options; NotSupportedError if the backend cannot run here
 */
export async function createClient(options: ClientOptions): Promise<VecsealClient> {
  if (!options?.provider || typeof options.provider.wrap !== 'function' || typeof options.provider.unwrap !== 'function') {
    throw new InvalidInputError('createClient needs a provider (e.g. await WebCryptoKeyProvider.generate())');
  }
  if (options.suite !== undefined && options.suite !== 1 && options.suite !== 2) throw new InvalidInputError('suite must be 1 or 2');
  const engine = await Engine.create({ workers: options.workers, backend: options.backend });
  try {
    const keys = new KeyManager({
      provider: options.provider,
      store: options.store ?? new MemoryKeyStore(),
      engine,
      suite: options.suite,
      maxRecordsPerDek: options.maxRecordsPerDek,
      cache: options.cache,
      channel: options.channel,
      onEvent: options.onKeyEvent,
    });
    return new VecsealClient(keys, engine);
  } catch (err) {
    await engine.close();
    throw err;
  }
}
