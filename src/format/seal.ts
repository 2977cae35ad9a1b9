/**
 * Sealing and opening version-1 records (FORMAT.md) with the core on the calling thread: one HKDF
 * derivation and one AES key schedule per batch, then one sealBatch/openBatch call for all records.
 */
import type { Core, PackedBytes } from '../core/index.js';
import { AuthenticationError, FormatError, InvalidInputError, KeyStateError, type VecsealError } from '../errors.js';
import { encodeContext, type RecordContext } from './context.js';
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

/** First four bytes of SHA-256 of the DEK id (FORMAT.md section 1). */
export function keyIdOf(core: Core, dekId: string): Uint8Array {
  return core.sha256(new TextEncoder().encode(dekId)).slice(0, KEY_ID_BYTES);
}

function checkKey(key: DataKey): void {
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
function deriveBatchKey(core: Core, key: DataKey, suite: SuiteId, keyId: Uint8Array, keyVersion: number, salt: Uint8Array): { encKey: Uint8Array; commitment: Uint8Array } {
  const okm = core.hkdfSha256(key.dek, salt, hkdfInfo(suite, keyId, keyVersion), 32 + commitmentBytes(suite));
  return { encKey: okm.subarray(0, 32), commitment: okm.subarray(32) };
}

/**
 * Seals a batch of records under one DEK with one fresh salt (or the given one, for test vectors).
 * @returns the records, packed, in input order
 * @throws InvalidInputError for a bad key, context or payload (nothing is sealed)
 */
export function sealRecords(core: Core, key: DataKey, items: readonly SealItem[], salt?: Uint8Array): PackedBytes {
  checkKey(key);
  if (!Array.isArray(items)) throw new InvalidInputError('items must be an array');
  if (items.length > MAX_BATCH_RECORDS) throw new InvalidInputError('a batch holds at most 2^32 - 1 records');
  const suite = key.suite ?? DEFAULT_SUITE;
  const h = headerBytes(suite);
  const batchSalt = salt ?? globalThis.crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  if (batchSalt.length !== SALT_BYTES) throw new InvalidInputError(`salt must be ${SALT_BYTES} bytes`);
  const keyId = keyIdOf(core, key.dekId);

  // Validate everything before deriving a key or sealing a byte.
  const aads: Uint8Array[] = [];
  const headers: Uint8Array[] = [];
  items.forEach((item, i) => {
    const ctx = item?.context;
    if (ctx?.dekId !== key.dekId) throw new InvalidInputError(`items[${i}].context.dekId does not name the key sealing the batch`);
    if (!(item.payload instanceof Uint8Array)) throw new InvalidInputError(`items[${i}].payload must be a Uint8Array`);
    const context = encodeContext(ctx);
    const header = new Uint8Array(h);
    writeFixedHeader(header, suite, keyId, key.keyVersion, batchSalt, i);
    headers.push(header);
    const aad = new Uint8Array(h + context.length);
    aad.set(context, h);
    aads.push(aad);
  });

  const { encKey, commitment } = deriveBatchKey(core, key, suite, keyId, key.keyVersion, batchSalt);
  try {
    const ivs = new Uint8Array(12 * items.length);
    for (let i = 0; i < items.length; i++) {
      headers[i]!.set(commitment, FIXED_HEADER_BYTES);
      aads[i]!.set(headers[i]!, 0);
      nonceFor(i, ivs, 12 * i);
    }
    const sealed = core.sealBatch({ key: encKey, ivs, plaintexts: items.map((it) => it.payload), aads });
    const offsets = new Uint32Array(items.length + 1);
    for (let i = 0; i < items.length; i++) offsets[i + 1] = offsets[i]! + h + (sealed.offsets[i + 1]! - sealed.offsets[i]!);
    const bytes = new Uint8Array(offsets[items.length]!);
    for (let i = 0; i < items.length; i++) {
      bytes.set(headers[i]!, offsets[i]!);
      bytes.set(sealed.bytes.subarray(sealed.offsets[i]!, sealed.offsets[i + 1]!), offsets[i]! + h);
    }
    return { bytes, offsets };
  } finally {
    encKey.fill(0);
  }
}

/** Constant-time equality of two equal-length byte strings. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/**
 * Opens records sealed under one DEK; each record gets its own result, so one bad record does not
 * stop the others. Records are grouped by salt, so each batch key is derived once.
 * @throws InvalidInputError if the key or the counts are wrong (per-record problems are results)
 */
export function openRecords(core: Core, key: DataKey, records: readonly Uint8Array[], contexts: readonly RecordContext[]): OpenResult[] {
  checkKey(key);
  if (!Array.isArray(records) || !Array.isArray(contexts) || records.length !== contexts.length) {
    throw new InvalidInputError('records and contexts must be arrays of the same length');
  }
  const keyId = keyIdOf(core, key.dekId);
  const results: OpenResult[] = new Array(records.length);
  const groups = new Map<string, { parsed: ParsedRecord; i: number; aad: Uint8Array }[]>();
  records.forEach((record, i) => {
    try {
      const parsed = parseRecord(record);
      if (!sameBytes(parsed.keyId, keyId)) throw new AuthenticationError('record was sealed under another data key (key id differs)');
      if (parsed.keyVersion !== key.keyVersion) {
        throw new KeyStateError(`record was sealed with key version ${parsed.keyVersion}; the key given is version ${key.keyVersion}`);
      }
      const ctx = contexts[i]!;
      if (ctx?.dekId !== key.dekId) throw new InvalidInputError(`contexts[${i}].dekId does not name the key given`);
      const context = encodeContext(ctx);
      const aad = new Uint8Array(parsed.header.length + context.length);
      aad.set(parsed.header, 0);
      aad.set(context, parsed.header.length);
      const groupKey = `${parsed.suite}:${Array.from(parsed.salt).join(',')}`;
      const group = groups.get(groupKey) ?? [];
      group.push({ parsed, i, aad });
      groups.set(groupKey, group);
    } catch (err) {
      results[i] = { ok: false, error: asVecsealError(err) };
    }
  });

  for (const group of groups.values()) {
    const { suite, salt } = group[0]!.parsed;
    const { encKey, commitment } = deriveBatchKey(core, key, suite, keyId, key.keyVersion, salt);
    try {
      // Key commitment first: a record whose commitment differs was made under another key.
      const committed = group.filter((g) => {
        if (sameBytes(g.parsed.commitment, commitment)) return true;
        results[g.i] = { ok: false, error: new AuthenticationError('key commitment mismatch: the record was sealed under another key') };
        return false;
      });
      const ivs = new Uint8Array(12 * committed.length);
      committed.forEach((g, k) => nonceFor(g.parsed.index, ivs, 12 * k));
      const opened = core.openBatch({
        key: encKey,
        ivs,
        ciphertexts: committed.map((g) => g.parsed.sealed),
        aads: committed.map((g) => g.aad),
      });
      committed.forEach((g, k) => {
        results[g.i] = opened.ok[k]
          ? { ok: true, payload: opened.plaintexts.bytes.subarray(opened.plaintexts.offsets[k]!, opened.plaintexts.offsets[k + 1]!) }
          : { ok: false, error: new AuthenticationError('record failed authentication: wrong context, or the record was tampered with') };
      });
    } finally {
      encKey.fill(0);
    }
  }
  return results;
}

function asVecsealError(err: unknown): VecsealError {
  if (err instanceof Error && 'code' in err) return err as VecsealError;
  return new FormatError(err instanceof Error ? err.message : String(err), { cause: err });
}
