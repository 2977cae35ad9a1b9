/**
 * Sealing and opening version-1 records (FORMAT.md) with any cipher backend: one HKDF derivation
 * per batch (the batch key and its commitment), then AES-256-GCM over every record of the batch.
 * Inputs and outputs are packed buffers, so a batch moves between threads as a few transfers.
 */
import { packBytes, segment, unpackBytes, type ByteList, type PackedBytes } from '../core/index.js';
import type { CipherBackend } from '../backends/types.js';
import { itemAt } from '../backends/_pack.js';
import { AuthenticationError, FormatError, InvalidInputError, KeyStateError, type VecsealError } from '../errors.js';
import { encodeContext, encodeContexts, type BatchContext, type RecordContext } from './context.js';
import {
  commitmentBytes,
  DEFAULT_SUITE,
  FIXED_HEADER_BYTES,
  headerBytes,
  hkdfInfo,
  KEY_ID_BYTES,
  nonceFor,
  parseRecord,
  SALT_BYTES,
  SUITES,
  TAG_BYTES,
  type ParsedRecord,
  type SuiteId,
  writeFixedHeader,
} from './layout.js';

export const DEK_BYTES = 32;
const MAX_BATCH_RECORDS = 0xffff_ffff;

/** The data-encryption key a batch is sealed or opened with. */
export interface DataKey {
  /** 32 raw bytes. */
  dek: Uint8Array;
  dekId: string;
  keyVersion: number;
  /** Suite for sealing (default 0x01); opening reads the suite from each record. */
  suite?: SuiteId;
}

export interface SealItem {
  context: RecordContext;
  /** The payload (see payload.ts); at least the context's vector length. */
  payload: Uint8Array;
}

export type OpenResult = { ok: true; payload: Uint8Array } | { ok: false; error: VecsealError };

/** Payloads of opened records in input order and each failure. */
export interface OpenedRecords {
  /** Views of each opened payload (empty for a record that failed). */
  payloads: Uint8Array[];
  errors: (VecsealError | undefined)[];
}

/** First four bytes of SHA-256 of the DEK id (FORMAT.md section 1). */
export async function keyIdOf(backend: Pick<CipherBackend, 'sha256'>, dekId: string): Promise<Uint8Array> {
  return (await backend.sha256(new TextEncoder().encode(dekId))).slice(0, KEY_ID_BYTES);
}

export function checkDataKey(key: DataKey): void {
  if (!(key?.dek instanceof Uint8Array) || key.dek.length !== DEK_BYTES) {
    throw new InvalidInputError(`dek must be ${DEK_BYTES} bytes; got ${key?.dek instanceof Uint8Array ? `${key.dek.length} bytes` : typeof key?.dek}`);
  }
  if (typeof key.dekId !== 'string') throw new InvalidInputError('dekId must be a string');
  if (!Number.isInteger(key.keyVersion) || key.keyVersion < 0 || key.keyVersion > 0xffff_ffff) {
    throw new InvalidInputError(`keyVersion must be an integer in 0..2^32-1; got ${String(key.keyVersion)}`);
  }
  if (key.suite !== undefined && !(key.suite in SUITES)) throw new InvalidInputError(`unknown suite ${String(key.suite)}`);
}

/** okm = HKDF-SHA256(DEK, salt, info, 32 + C): the batch key and its commitment. */
async function deriveBatchKey(backend: CipherBackend, key: DataKey, suite: SuiteId, keyId: Uint8Array, salt: Uint8Array): Promise<{ encKey: Uint8Array; commitment: Uint8Array }> {
  const okm = await backend.hkdfSha256(key.dek, salt, hkdfInfo(suite, keyId, key.keyVersion), 32 + commitmentBytes(suite));
  return { encKey: okm.subarray(0, 32), commitment: okm.subarray(32) };
}

/** Sealed records: each a view of exactly its bytes; `packed` set when they share one buffer. */
export interface SealedBatch {
  records: Uint8Array[];
  packed: PackedBytes | undefined;
}

/**
 * Seals a batch whose contexts are already encoded (encodeContexts). One fresh salt per batch (or
 * the given one, for test vectors); record i gets index i.
 * @param layout 'packed': all records in one buffer (to transfer between threads); 'separate': each
 *   record in its own buffer (to hand to the caller without another copy)
 * @throws InvalidInputError for a bad key or mismatched counts (nothing is sealed)
 */
export async function sealEncoded(backend: CipherBackend, key: DataKey, contexts: PackedBytes, payloads: ByteList, salt?: Uint8Array, layout: 'packed' | 'separate' = 'packed'): Promise<SealedBatch> {
  checkDataKey(key);
  const n = countOf(payloads, 'payloads');
  if (contexts.offsets.length - 1 !== n) throw new InvalidInputError(`${n} payloads but ${contexts.offsets.length - 1} contexts`);
  if (n > MAX_BATCH_RECORDS) throw new InvalidInputError('a batch holds at most 2^32 - 1 records');
  const suite = key.suite ?? DEFAULT_SUITE;
  const h = headerBytes(suite);
  const batchSalt = salt ?? globalThis.crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  if (!(batchSalt instanceof Uint8Array) || batchSalt.length !== SALT_BYTES) throw new InvalidInputError(`salt must be ${SALT_BYTES} bytes`);
  const keyId = await keyIdOf(backend, key.dekId);

  // Record i = header || ciphertext || tag; AAD i = header || context (all AADs in one buffer).
  const records: Uint8Array[] = new Array(n);
  const sealedParts: Uint8Array[] = new Array(n);
  let packed: PackedBytes | undefined;
  if (layout === 'packed') {
    const offsets = new Uint32Array(n + 1);
    for (let i = 0; i < n; i++) offsets[i + 1] = offsets[i]! + h + itemAt(payloads, i).length + TAG_BYTES;
    const bytes = new Uint8Array(offsets[n]!);
    for (let i = 0; i < n; i++) records[i] = bytes.subarray(offsets[i]!, offsets[i + 1]!);
    packed = { bytes, offsets };
  } else {
    for (let i = 0; i < n; i++) records[i] = new Uint8Array(h + itemAt(payloads, i).length + TAG_BYTES);
  }
  for (let i = 0; i < n; i++) sealedParts[i] = records[i]!.subarray(h);
  const aadOffsets = new Uint32Array(n + 1);
  for (let i = 0; i < n; i++) aadOffsets[i + 1] = aadOffsets[i]! + h + (contexts.offsets[i + 1]! - contexts.offsets[i]!);
  const aads = new Uint8Array(aadOffsets[n]!);
  const ivs = new Uint8Array(12 * n);
  const { encKey, commitment } = await deriveBatchKey(backend, key, suite, keyId, batchSalt);
  try {
    const header = new Uint8Array(h);
    writeFixedHeader(header, suite, keyId, key.keyVersion, batchSalt, 0);
    header.set(commitment, FIXED_HEADER_BYTES);
    for (let i = 0; i < n; i++) {
      // Only the index (header bytes 26..30, nonce bytes 8..12, both big-endian) changes per record.
      header[26] = i >>> 24;
      header[27] = (i >>> 16) & 0xff;
      header[28] = (i >>> 8) & 0xff;
      header[29] = i & 0xff;
      records[i]!.set(header, 0);
      aads.set(header, aadOffsets[i]!);
      aads.set(contexts.bytes.subarray(contexts.offsets[i]!, contexts.offsets[i + 1]!), aadOffsets[i]! + h);
      ivs.set(header.subarray(26, 30), 12 * i + 8);
    }
    await backend.sealInto(encKey, ivs, payloads, { bytes: aads, offsets: aadOffsets }, sealedParts);
    return { records, packed };
  } finally {
    encKey.fill(0);
  }
}

function countOf(list: ByteList, what: string): number {
  if (Array.isArray(list)) {
    (list as readonly Uint8Array[]).forEach((p, i) => {
      if (!(p instanceof Uint8Array)) throw new InvalidInputError(`${what}[${i}] must be a Uint8Array`);
    });
    return list.length;
  }
  const packed = list as PackedBytes;
  if (!(packed?.bytes instanceof Uint8Array) || !(packed.offsets instanceof Uint32Array) || packed.offsets.length < 1) {
    throw new InvalidInputError(`${what} must be an array of Uint8Array or packed bytes`);
  }
  return packed.offsets.length - 1;
}

/** Seals records whose contexts differ only in the record id. */
export function sealBatch(backend: CipherBackend, key: DataKey, context: BatchContext, recordIds: readonly string[], payloads: ByteList, salt?: Uint8Array, layout: 'packed' | 'separate' = 'packed'): Promise<SealedBatch> {
  checkDataKey(key);
  if (context?.dekId !== key.dekId) throw new InvalidInputError('context.dekId does not name the key sealing the batch');
  return sealEncoded(backend, key, encodeContexts(context, recordIds), payloads, salt, layout);
}

/**
 * Seals records with a context each (any mix of collections, dtypes ...; all under one DEK).
 * @throws InvalidInputError for a bad key, context or payload (nothing is sealed)
 */
export async function sealRecords(backend: CipherBackend, key: DataKey, items: readonly SealItem[], salt?: Uint8Array): Promise<PackedBytes> {
  checkDataKey(key);
  if (!Array.isArray(items)) throw new InvalidInputError('items must be an array');
  const contexts = items.map((item, i) => {
    if (item?.context?.dekId !== key.dekId) throw new InvalidInputError(`items[${i}].context.dekId does not name the key sealing the batch`);
    return encodeContext(item.context);
  });
  return (await sealEncoded(backend, key, packBytes(contexts), items.map((it) => it.payload), salt)).packed!;
}

/** Constant-time equality of two equal-length byte strings. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

interface Pending {
  parsed: ParsedRecord;
  i: number;
}

/**
 * Opens records sealed under one DEK, with their contexts already encoded. Each record gets its own
 * outcome, so one bad record does not stop the others; records are grouped by salt so each batch
 * key is derived once.
 * @throws InvalidInputError if the key or the counts are wrong (per-record problems are results)
 */
export async function openEncoded(backend: CipherBackend, key: DataKey, recordList: ByteList, contexts: PackedBytes): Promise<OpenedRecords> {
  checkDataKey(key);
  countOf(recordList, 'records');
  const records = Array.isArray(recordList) ? (recordList as readonly Uint8Array[]) : unpackBytes(recordList as PackedBytes);
  const n = records.length;
  if (contexts.offsets.length - 1 !== n) throw new InvalidInputError(`${n} records but ${contexts.offsets.length - 1} contexts`);
  const keyId = await keyIdOf(backend, key.dekId);
  const errors: (VecsealError | undefined)[] = new Array(n).fill(undefined);
  const plaintexts: (Uint8Array | null)[] = new Array(n).fill(null);
  const groups = new Map<string, Pending[]>();
  for (let i = 0; i < n; i++) {
    try {
      const parsed = parseRecord(records[i]!);
      if (!sameBytes(parsed.keyId, keyId)) throw new AuthenticationError('record was sealed under another data key (key id differs)');
      if (parsed.keyVersion !== key.keyVersion) {
        throw new KeyStateError(`record was sealed with key version ${parsed.keyVersion}; the key given is version ${key.keyVersion}`);
      }
      const groupKey = String.fromCharCode(parsed.suite, ...parsed.salt);
      const group = groups.get(groupKey);
      if (group) group.push({ parsed, i });
      else groups.set(groupKey, [{ parsed, i }]);
    } catch (err) {
      errors[i] = asVecsealError(err);
    }
  }

  for (const group of groups.values()) {
    const { suite, salt } = group[0]!.parsed;
    const { encKey, commitment } = await deriveBatchKey(backend, key, suite, keyId, salt);
    try {
      // Key commitment first: a record whose commitment differs was made under another key.
      const committed = group.filter((g) => {
        if (sameBytes(g.parsed.commitment, commitment)) return true;
        errors[g.i] = new AuthenticationError('key commitment mismatch: the record was sealed under another key');
        return false;
      });
      const ivs = new Uint8Array(12 * committed.length);
      const aadOffsets = new Uint32Array(committed.length + 1);
      committed.forEach((g, k) => {
        nonceFor(g.parsed.index, ivs, 12 * k);
        aadOffsets[k + 1] = aadOffsets[k]! + g.parsed.header.length + (contexts.offsets[g.i + 1]! - contexts.offsets[g.i]!);
      });
      const aads = new Uint8Array(aadOffsets[committed.length]!);
      committed.forEach((g, k) => {
        aads.set(g.parsed.header, aadOffsets[k]!);
        aads.set(segment(contexts, g.i), aadOffsets[k]! + g.parsed.header.length);
      });
      const opened = await backend.open(encKey, ivs, committed.map((g) => g.parsed.sealed), { bytes: aads, offsets: aadOffsets });
      committed.forEach((g, k) => {
        const plaintext = opened[k];
        if (plaintext) plaintexts[g.i] = plaintext;
        else errors[g.i] = new AuthenticationError('record failed authentication: wrong context, or the record was tampered with');
      });
    } finally {
      encKey.fill(0);
    }
  }
  const none = new Uint8Array(0);
  return { payloads: plaintexts.map((p) => p ?? none), errors };
}

/** Opens records whose contexts differ only in the record id. */
export function openBatch(backend: CipherBackend, key: DataKey, context: BatchContext, recordIds: readonly string[], records: ByteList): Promise<OpenedRecords> {
  checkDataKey(key);
  if (context?.dekId !== key.dekId) throw new InvalidInputError('context.dekId does not name the key given');
  return openEncoded(backend, key, records, encodeContexts(context, recordIds));
}

/**
 * Opens records with a context each.
 * @throws InvalidInputError if the key or the counts are wrong, or a context is malformed
 */
export async function openRecords(backend: CipherBackend, key: DataKey, records: readonly Uint8Array[], contexts: readonly RecordContext[]): Promise<OpenResult[]> {
  checkDataKey(key);
  if (!Array.isArray(records) || !Array.isArray(contexts) || records.length !== contexts.length) {
    throw new InvalidInputError('records and contexts must be arrays of the same length');
  }
  const encoded = contexts.map((ctx, i) => {
    if (ctx?.dekId !== key.dekId) throw new InvalidInputError(`contexts[${i}].dekId does not name the key given`);
    return encodeContext(ctx);
  });
  const { payloads, errors } = await openEncoded(backend, key, records, packBytes(encoded));
  return errors.map((error, i) => (error ? { ok: false, error } : { ok: true, payload: payloads[i]! }));
}

function asVecsealError(err: unknown): VecsealError {
  if (err instanceof Error && 'code' in err) return err as VecsealError;
  return new FormatError(err instanceof Error ? err.message : String(err), { cause: err });
}
