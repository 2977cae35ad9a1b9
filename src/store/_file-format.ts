/**
 * The bytes FileKeyStore writes. Entry files (one DEK version or one meta value each):
 *
 *   magic (4) | format version (1) | u32 length | field | u32 length | field | checksum (8)
 *
 * and audit records, appended one after another to audit.log:
 *
 *   u32 payload length | checksum (8) of length and payload | payload = u32 seq high | u32 seq low | line (UTF-8)
 *
 * Integers are big-endian. The checksum is the first 8 bytes of SHA-256: it is not a MAC (a writer of
 * the files could recompute it; the audit module's hash chain and signatures cover that), it tells a
 * torn or damaged write from a whole one.
 */
import { createHash } from 'node:crypto';
import { FormatError } from '../errors.js';

export const CHECKSUM_BYTES = 8;
export const FILE_FORMAT_VERSION = 1;
/** Magic of a DEK entry file: "VSKD". */
export const DEK_MAGIC = Uint8Array.of(0x56, 0x53, 0x4b, 0x44);
/** Magic of a meta value file: "VSKM". */
export const META_MAGIC = Uint8Array.of(0x56, 0x53, 0x4b, 0x4d);
export const AUDIT_HEADER_BYTES = 4 + CHECKSUM_BYTES;
const SEQ_BYTES = 8;
/** Largest audit payload accepted; a larger length in a header means damage, not a long line. */
export const MAX_AUDIT_PAYLOAD = 64 * 1024 * 1024;

function checksum(...chunks: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const c of chunks) h.update(c);
  return new Uint8Array(h.digest().buffer, 0, CHECKSUM_BYTES);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** An entry file's bytes: magic, version, length-prefixed fields, checksum over all of it. */
export function frameEntry(magic: Uint8Array, fields: Uint8Array[]): Uint8Array {
  const size = 5 + fields.reduce((n, f) => n + 4 + f.length, 0);
  const out = new Uint8Array(size + CHECKSUM_BYTES);
  const view = new DataView(out.buffer);
  out.set(magic, 0);
  out[4] = FILE_FORMAT_VERSION;
  let at = 5;
  for (const f of fields) {
    view.setUint32(at, f.length, false);
    out.set(f, at + 4);
    at += 4 + f.length;
  }
  out.set(checksum(out.subarray(0, size)), size);
  return out;
}

/**
 * Parses frameEntry's output.
 * @throws FormatError naming `what` if the magic, version, checksum or layout is wrong
 */
export function unframeEntry(bytes: Uint8Array, magic: Uint8Array, fieldCount: number, what: string): Uint8Array[] {
  if (bytes.length < 5 + CHECKSUM_BYTES || !sameBytes(bytes.subarray(0, 4), magic)) throw new FormatError(`${what} is not a vecseal key store file`);
  if (bytes[4] !== FILE_FORMAT_VERSION) throw new FormatError(`${what} has file format version ${bytes[4]}; this SDK reads ${FILE_FORMAT_VERSION}`);
  const size = bytes.length - CHECKSUM_BYTES;
  if (!sameBytes(checksum(bytes.subarray(0, size)), bytes.subarray(size))) throw new FormatError(`${what} is damaged (checksum mismatch)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fields: Uint8Array[] = [];
  let at = 5;
  while (at < size) {
    if (at + 4 > size) throw new FormatError(`${what} is damaged (field header)`);
    const length = view.getUint32(at, false);
    if (at + 4 + length > size) throw new FormatError(`${what} is damaged (field length)`);
    fields.push(bytes.slice(at + 4, at + 4 + length));
    at += 4 + length;
  }
  if (fields.length !== fieldCount) throw new FormatError(`${what} has ${fields.length} fields; expected ${fieldCount}`);
  return fields;
}

/** One audit record, ready to append. */
export function frameAudit(seq: number, line: Uint8Array): Uint8Array {
  const payloadLength = SEQ_BYTES + line.length;
  const out = new Uint8Array(AUDIT_HEADER_BYTES + payloadLength);
  const view = new DataView(out.buffer);
  view.setUint32(0, payloadLength, false);
  view.setUint32(AUDIT_HEADER_BYTES, Math.floor(seq / 2 ** 32), false);
  view.setUint32(AUDIT_HEADER_BYTES + 4, seq >>> 0, false);
  out.set(line, AUDIT_HEADER_BYTES + SEQ_BYTES);
  out.set(checksum(out.subarray(0, 4), out.subarray(AUDIT_HEADER_BYTES)), 4);
  return out;
}

/**
 * What lies at the start of `bytes` (a view of the log from one record boundary; `atEnd` says it
 * reaches the end of the file):
 * - record: a whole record, its seq, line and length;
 * - short: `bytes` ends before the record can be judged: read at least `need` bytes (Infinity: to the end of the file);
 * - torn: a record a crash cut off at the end of the file (partly written or zero-filled);
 * - damaged: a bad record with more data after it, which no crash of an appender leaves.
 */
export type AuditScan =
  | { kind: 'record'; seq: number; line: Uint8Array; length: number }
  | { kind: 'short'; need: number }
  | { kind: 'torn' }
  | { kind: 'damaged'; why: string };

export function scanAudit(bytes: Uint8Array, atEnd: boolean): AuditScan {
  if (bytes.length < AUDIT_HEADER_BYTES) return atEnd ? { kind: 'torn' } : { kind: 'short', need: AUDIT_HEADER_BYTES };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const payloadLength = view.getUint32(0, false);
  if (payloadLength < SEQ_BYTES || payloadLength > MAX_AUDIT_PAYLOAD) {
    // A header is written whole with its record; a length this wrong comes from blocks the file
    // system extended but never filled (zeros), or from damage.
    if (!atEnd) return { kind: 'short', need: Infinity }; // judge it against the rest of the file
    return bytes.every((b) => b === 0) ? { kind: 'torn' } : { kind: 'damaged', why: 'impossible record length' };
  }
  const total = AUDIT_HEADER_BYTES + payloadLength;
  if (bytes.length < total) return atEnd ? { kind: 'torn' } : { kind: 'short', need: total };
  const payload = bytes.subarray(AUDIT_HEADER_BYTES, total);
  if (!sameBytes(checksum(bytes.subarray(0, 4), payload), bytes.subarray(4, AUDIT_HEADER_BYTES))) {
    return atEnd && bytes.length === total ? { kind: 'torn' } : { kind: 'damaged', why: 'checksum mismatch' };
  }
  const pv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const seq = pv.getUint32(0, false) * 2 ** 32 + pv.getUint32(4, false);
  return { kind: 'record', seq, line: payload.slice(SEQ_BYTES), length: total };
}
