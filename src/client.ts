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
import { AuditLog, exportJsonl, verifyAuditLog, type AuditVerification, type ExportRange, type VerifyAuditOptions } from './audit/index.js';
import { bytesToVector, contextEncoder, DTYPE_CODES, decodePayload, encodePayload, vectorByteLength, vectorToBytes, type BatchContext, type Dtype, type SuiteId, type VectorArray, type VectorTypes } from './format/index.js';
import type { KeyProvider } from './kms/provider.js';
import { KeyAdmin } from './keys/admin.js';
import type { CacheLimits } from './keys/cache.js';
import { dekIdFor, KeyManager, type KeyEvent, type TenantProviders } from './keys/manager.js';
import { ANONYMOUS, checkPrincipal, type AccessPolicy, type Principal } from './keys/policy.js';
import { recordKeyVersion, runReencrypt, type ReencryptOptions, type ReencryptResult } from './keys/reencrypt.js';
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
  /**
   * The tamper-evident audit log, kept in `store`: on by default (unsigned); `{ signer }` signs a
   * checkpoint every `checkpointEvery` entries (ECDSA P-256 private key of the app); an AuditLog of
   * your own; or false for none. A failed append fails the operation it records.
   */
  audit?: false | AuditLog | { signer?: CryptoKey; checkpointEvery?: number };
  /** Who is calling (recorded in every audit entry, checked by `policy`); default { id: 'anonymous' }. See also client.as(). */
  principal?: Principal;
  /** Who may encrypt, decrypt, rotate, suspend, destroy and export the audit log; default: everyone may do everything. */
  policy?: AccessPolicy;
  /** Tenants with KEKs of their own (destroyed with the tenant where the provider can). */
  tenantProviders?: TenantProviders;
  /** Providers of earlier KEKs, for DEKs that an interrupted rotateKek has not re-wrapped yet. */
  previousProviders?: readonly KeyProvider[];
  /** Signs shred receipts (ECDSA P-256 private key); default: the audit signer, if any. */
  receiptSigner?: CryptoKey;
}

/** A re-encryption job over records the app stores (see client.reencrypt). */
export interface ReencryptJob extends Scope, ReencryptOptions {
  dtype?: Dtype;
  dimension: number;
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

export class VecsealClient {
  readonly #engine: Engine;
  readonly #keys: KeyManager;
  readonly #store: KeyStore;
  readonly #principal: Principal;
  readonly #admin: KeyAdmin;

  /** @internal use createClient */
  constructor(keys: KeyManager, engine: Engine, store: KeyStore, principal: Principal) {
    this.#keys = keys;
    this.#engine = engine;
    this.#store = store;
    this.#principal = principal;
    this.#admin = new KeyAdmin(keys, principal);
  }

  /**
   * The key lifecycle, as this client's principal: rotateDek, rotateKek, suspend, resume, destroy
   * (crypto-shredding), versions.
   * @example await client.keys.rotateDek({ collection: 'docs', tenant: 'acme' });
   */
  get keys(): KeyAdmin {
    return this.#admin;
  }

  /**
   * The same client acting for another principal (shares workers, keys and store; closing either
   * closes both). Every call it makes is checked against the policy and audited under that principal.
   * @example const asBob = client.as({ id: 'bob', roles: ['reader'], tenants: ['acme'] });
   * @throws InvalidInputError for a malformed principal
   */
  as(principal: Principal): VecsealClient {
    return new VecsealClient(this.#keys, this.#engine, this.#store, checkPrincipal(principal));
  }

  /** The principal this client acts as. */
  get principal(): Principal {
    return this.#principal;
  }

  /** The key store (wrapped DEKs, the audit log, checkpoints). */
  get store(): KeyStore {
    return this.#store;
  }

  /** The audit log, if on: call audit.checkpoint() to sign the head now (before an export, at shutdown). */
  get audit(): AuditLog | undefined {
    return this.#keys.audit;
  }

  /** How many DEKs are unwrapped in worker memory now. */
  get cachedKeys(): number {
    return this.#keys.cachedKeys;
  }

  /**
   * The audit log as JSONL for a SIEM (one canonical entry per line). The export is itself audited.
   * @throws PolicyError without 'export-audit'; InvalidInputError without an audit log
   */
  async exportAudit(range: ExportRange = {}): Promise<string> {
    await this.#keys.authorize(this.#principal, { action: 'export-audit' });
    if (!this.#keys.audit) throw new InvalidInputError('this client keeps no audit log (audit: false)');
    await this.#keys.record({ operation: 'export-audit', outcome: 'ok', detail: `from ${range.from ?? 1}${range.to !== undefined ? ` to ${range.to}` : ''}` }, this.#principal);
    await this.#keys.audit.flush();
    return exportJsonl(this.#store, range);
  }

  /**
   * Verifies the audit log in the store: chain, sequence, checkpoint signatures, truncation.
   * @param options publicKey (null: signatures not checked), an outside checkpoint
   * @throws PolicyError without 'export-audit'
   */
  async verifyAudit(options: VerifyAuditOptions): Promise<AuditVerification> {
    await this.#keys.authorize(this.#principal, { action: 'export-audit' });
    await this.#keys.audit?.flush();
    return verifyAuditLog(this.#store, options);
  }

  /**
   * Moves records the app stores to the newest DEK version of their collection and tenant (after
   * rotateDek), page by page: `read(cursor, limit)` returns the next page in a stable order and
   * `write(records)` stores the re-sealed ones in place of the old. A checkpoint under `jobId` in the
   * key store lets an interrupted job resume; records already current are skipped; a record that
   * does not open is left as it is and reported. Text and metadata move with the vector.
   * @example
   * await client.keys.rotateDek({ collection: 'docs', tenant: 'acme' });
   * await client.reencrypt({ jobId: 'docs-acme-v2', collection: 'docs', tenant: 'acme', dimension: 768,
   *   read: (after, limit) => db.page(after, limit), write: (rows) => db.update(rows) });
   * @throws PolicyError without 'rotate' (and 'encrypt'/'decrypt'); AbortedError (resumable); what read/write throw
   */
  async reencrypt(job: ReencryptJob): Promise<ReencryptResult> {
    const scope = checkScope(job);
    if (job === null || typeof job !== 'object' || !Number.isInteger(job.dimension)) throw new InvalidInputError('reencrypt needs dimension');
    await this.#keys.authorize(this.#principal, { action: 'rotate', ...scope });
    const dtype = checkDtype(job.dtype ?? 'float32');
    return runReencrypt(job, {
      store: this.#store,
      activeVersion: async () => (await this.#keys.dekForSeal(scope, 0, this.#principal)).version,
      open: (records, signal) => this.#open({ ...job, records, dtype }, { signal }),
      seal: async (ids, payloads, signal) => this.#seal(job, scope, dtype, job.dimension, ids, payloads, { signal }),
      record: (outcome, records, detail) => this.#keys.record({ operation: 'reencrypt', keyRef: undefined, ...scope, outcome, records, detail }, this.#principal),
    });
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
    await this.#keys.authorize(this.#principal, { action: 'encrypt', ...scope });
    let dek: StoredDek | undefined;
    let records: Uint8Array[];
    try {
      dek = await this.#keys.dekForSeal(scope, ids.length, this.#principal);
      context.dekId = dek.dekId;
      const handle = await this.#keys.handleFor(dek, this.#principal);
      records = await this.#engine.seal(handle, context, ids, payloads, options);
    } catch (err) {
      await this.#keys.recordFailure('seal', scope, dek, err, ids.length, this.#principal);
      throw err;
    }
    await this.#keys.recordSeal(dek, ids.length, payloads.reduce((n, p) => n + p.length, 0), this.#principal);
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
    await this.#keys.authorize(this.#principal, { action: 'decrypt', ...scope });
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
        // A version that is unknown, suspended or destroyed fails its records; the other versions' records still open.
        if (!(err instanceof VecsealError)) throw err;
        await this.#keys.recordFailure('open', scope, undefined, err, indexes.length, this.#principal);
        for (const i of indexes) out[i]!.error = err;
        continue;
      }
      let result: { payloads: Uint8Array[]; errors: (VecsealError | undefined)[] };
      try {
        const handle = await this.#keys.handleFor(stored, this.#principal);
        result = await this.#engine.open(handle, context, indexes.map((i) => ids[i]!), indexes.map((i) => input.records[i]!.ciphertext), {
          signal: options.signal,
          onProgress: options.onProgress && ((n) => options.onProgress!(done + n, ids.length)),
        });
      } catch (err) {
        // The provider could not unwrap the DEK, a worker crashed, or the call was aborted: the whole call fails (retry it).
        await this.#keys.recordFailure('open', scope, stored, err, indexes.length, this.#principal);
        throw err;
      }
      done += indexes.length;
      let opened = 0;
      let bytes = 0;
      indexes.forEach((i, k) => {
        if (result.errors[k]) out[i]!.error = result.errors[k];
        else {
          out[i]!.payload = result.payloads[k];
          opened++;
          bytes += result.payloads[k]!.length;
        }
      });
      // Recorded before any plaintext is handed back: an open that cannot be audited returns nothing.
      await this.#keys.recordOpen(stored, opened, indexes.length - opened, bytes, this.#principal);
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

async function openAudit(option: ClientOptions['audit'], store: KeyStore): Promise<AuditLog | undefined> {
  if (option === false) return undefined;
  if (option instanceof AuditLog) return option;
  if (option !== undefined && (option === null || typeof option !== 'object')) throw new InvalidInputError('audit must be false, an AuditLog, or { signer?, checkpointEvery? }');
  return AuditLog.open(store, { signer: option?.signer, checkpointEvery: option?.checkpointEvery });
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
  const principal = options.principal === undefined ? ANONYMOUS : checkPrincipal(options.principal);
  const store = options.store ?? new MemoryKeyStore();
  const audit = await openAudit(options.audit, store);
  const engine = await Engine.create({ workers: options.workers, backend: options.backend });
  try {
    const keys = new KeyManager({
      provider: options.provider,
      tenantProviders: options.tenantProviders,
      previousProviders: options.previousProviders,
      store,
      engine,
      suite: options.suite,
      maxRecordsPerDek: options.maxRecordsPerDek,
      cache: options.cache,
      channel: options.channel,
      audit,
      policy: options.policy,
      receiptSigner: options.receiptSigner ?? (options.audit && !(options.audit instanceof AuditLog) ? options.audit.signer : undefined),
      onEvent: options.onKeyEvent,
    });
    return new VecsealClient(keys, engine, store, principal);
  } catch (err) {
    await engine.close();
    throw err;
  }
}
