/**
 * Byte layout of a version-1 record (FORMAT.md section 1): header fields, suites, and parsing that
 * rejects malformed input with a FormatError before any key is touched.
 */
import { FormatError } from '../errors.js';

export const FORMAT_VERSION = 0x01;
/** Suite ids (FORMAT.md section 4) and their commitment lengths in bytes. */
export const SUITES = { 0x01: 16, 0x02: 32 } as const;
export type SuiteId = keyof typeof SUITES;
export const DEFAULT_SUITE: SuiteId = 0x01;

export const KEY_ID_BYTES = 4;
export const SALT_BYTES = 16;
export const TAG_BYTES = 16;
/** Bytes before the commitment: version, suite, keyId, keyVersion, salt, index. */
export const FIXED_HEADER_BYTES = 30;
/** "vecseal/v1", the prefix of the HKDF info. */
export const INFO_PREFIX = new TextEncoder().encode('vecseal/v1');

export function commitmentBytes(suite: SuiteId): number {
  return SUITES[suite];
}

export function headerBytes(suite: SuiteId): number {
  return FIXED_HEADER_BYTES + SUITES[suite];
}

/** Record overhead for a suite: header plus tag (62 bytes for the default suite). */
export function overheadBytes(suite: SuiteId = DEFAULT_SUITE): number {
  return headerBytes(suite) + TAG_BYTES;
}

export interface ParsedRecord {
  suite: SuiteId;
  keyId: Uint8Array;
  keyVersion: number;
  salt: Uint8Array;
  index: number;
  commitment: Uint8Array;
  /** Bytes [0, headerLength): the first part of the AAD. */
  header: Uint8Array;
  /** ciphertext || tag. */
  sealed: Uint8Array;
}

/**
 * Splits a record into its fields (views into `record`, no copies).
 * @throws FormatError for a short record, an unknown version or an unknown suite
 */
export function parseRecord(record: Uint8Array): ParsedRecord {
  if (!(record instanceof Uint8Array)) throw new FormatError('a record must be a Uint8Array');
  if (record.length < FIXED_HEADER_BYTES) throw new FormatError(`record too short: ${record.length} bytes, a header needs at least ${FIXED_HEADER_BYTES}`);
  if (record[0] !== FORMAT_VERSION) throw new FormatError(`unknown record format version ${record[0]}; this reader knows version ${FORMAT_VERSION}`);
  const suite = record[1]!;
  if (!(suite in SUITES)) throw new FormatError(`unknown suite 0x${suite.toString(16).padStart(2, '0')}`);
  const id = suite as SuiteId;
  const h = headerBytes(id);
  if (record.length < h + TAG_BYTES) throw new FormatError(`record too short: ${record.length} bytes, suite 0x0${id} needs at least ${h + TAG_BYTES}`);
  const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
  return {
    suite: id,
    keyId: record.subarray(2, 6),
    keyVersion: view.getUint32(6, false),
    salt: record.subarray(10, 26),
    index: view.getUint32(26, false),
    commitment: record.subarray(FIXED_HEADER_BYTES, h),
    header: record.subarray(0, h),
    sealed: record.subarray(h),
  };
}

/** Writes the fixed header fields (everything but the commitment) at out[0..30). */
export function writeFixedHeader(out: Uint8Array, suite: SuiteId, keyId: Uint8Array, keyVersion: number, salt: Uint8Array, index: number): void {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  out[0] = FORMAT_VERSION;
  out[1] = suite;
  out.set(keyId.subarray(0, KEY_ID_BYTES), 2);
  view.setUint32(6, keyVersion >>> 0, false);
  out.set(salt, 10);
  view.setUint32(26, index >>> 0, false);
}

/** HKDF info for a batch: "vecseal/v1" || suite || keyId || keyVersion (FORMAT.md section 3). */
export function hkdfInfo(suite: SuiteId, keyId: Uint8Array, keyVersion: number): Uint8Array {
  const info = new Uint8Array(INFO_PREFIX.length + 9);
  info.set(INFO_PREFIX, 0);
  info[INFO_PREFIX.length] = suite;
  info.set(keyId.subarray(0, KEY_ID_BYTES), INFO_PREFIX.length + 1);
  new DataView(info.buffer).setUint32(INFO_PREFIX.length + 5, keyVersion >>> 0, false);
  return info;
}

/** The 12-byte GCM nonce of a record: eight zero bytes then the index (FORMAT.md section 3). */
export function nonceFor(index: number, out: Uint8Array = new Uint8Array(12), at = 0): Uint8Array {
  out.fill(0, at, at + 8);
  new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(at + 8, index >>> 0, false);
  return out;
}
