/**
 * An audit entry: what an event may carry (a closed shape, checked for key material), how an entry
 * is built from it, hashed into the chain and stored as one line, and how a stored line is parsed.
 *
 * Entry (one JSON object, stored as its canonical JSON, _canonical.ts):
 *   v          1 (this format)
 *   seq        1, 2, 3 ... without gaps
 *   time       ISO 8601 UTC with milliseconds (Date.prototype.toISOString)
 *   operation  'generate', 'unwrap', 'rotate-dek', ... or 'checkpoint'
 *   keyRef, collection, tenant, principal, detail   optional strings
 *   outcome    'ok' | 'denied' | 'failed'
 *   records    optional non-negative integer
 *   checkpoint only on 'checkpoint' entries: { seq, hash, time, signature } (checkpoint.ts)
 *   prevHash   the previous entry's hash; 64 zeros for seq 1
 *   hash       lower-case hex SHA-256 of the UTF-8 canonical JSON of every other field
 */
import { FormatError, InvalidInputError } from '../errors.js';
import { canonicalJson, sha256Hex } from './_canonical.js';
import { keyMaterialShape } from './_secret-scan.js';

export const AUDIT_FORMAT_VERSION = 1;
/** prevHash of the first entry. */
export const GENESIS_HASH = '0'.repeat(64);
/** Bound on keyRef, collection, tenant and principal (identifiers, not documents). */
export const MAX_ID_CHARS = 256;
/** Bound on detail: a short note such as 'active -> suspended', never a payload. */
export const MAX_DETAIL_CHARS = 200;

/** Operations the SDK records. Apps may add their own: lower-case words joined by '-'. */
export type AuditOperation =
  | 'generate'
  | 'wrap'
  | 'unwrap'
  | 'rewrap'
  | 'cache-hit'
  | 'cache-miss'
  | 'cache-evict'
  | 'rotate-dek'
  | 'rotate-kek'
  | 'state-change'
  | 'destroy'
  | 'reencrypt'
  | 'denied'
  | 'usage-limit'
  | 'seal'
  | 'open'
  | 'export-audit';

export type AuditOutcome = 'ok' | 'denied' | 'failed';

/** What append() takes. Every field is optional except operation and outcome; no other field is accepted. */
export interface AuditEvent {
  operation: AuditOperation | (string & {});
  /** `dekId#version` or a KEK id. */
  keyRef?: string | undefined;
  collection?: string | undefined;
  tenant?: string | undefined;
  /** Who asked (a user or service id, never a token). */
  principal?: string | undefined;
  outcome: AuditOutcome;
  /** Records sealed, opened or re-encrypted by the operation. */
  records?: number | undefined;
  /** A short note; no key bytes, plaintext or credentials. */
  detail?: string | undefined;
}

/** A signed statement that the chain up to `seq` ends in `hash` (checkpoint.ts). */
export interface AuditCheckpoint {
  seq: number;
  hash: string;
  time: string;
  /** ECDSA P-256 / SHA-256 signature, IEEE P1363 r||s (64 bytes) as WebCrypto makes it, base64url. */
  signature: string;
}

export interface AuditEntry {
  v: 1;
  seq: number;
  time: string;
  operation: string;
  keyRef?: string;
  collection?: string;
  tenant?: string;
  principal?: string;
  outcome: AuditOutcome;
  records?: number;
  detail?: string;
  checkpoint?: AuditCheckpoint;
  prevHash: string;
  hash: string;
}

/** The event fields of an entry, validated. */
export type EventFields = Omit<AuditEntry, 'v' | 'seq' | 'time' | 'checkpoint' | 'prevHash' | 'hash'>;

const STRING_FIELDS = ['keyRef', 'collection', 'tenant', 'principal', 'detail'] as const;
const EVENT_FIELDS = new Set<string>(['operation', 'outcome', 'records', ...STRING_FIELDS]);
const ENTRY_FIELDS = new Set<string>([...EVENT_FIELDS, 'v', 'seq', 'time', 'checkpoint', 'prevHash', 'hash']);
const CHECKPOINT_FIELDS = new Set<string>(['seq', 'hash', 'time', 'signature']);
const OUTCOMES = new Set<string>(['ok', 'denied', 'failed']);
const OPERATION = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
const MAX_OPERATION_CHARS = 40;
export const HASH_HEX = /^[0-9a-f]{64}$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/;
/** vecseal's own key references: each part is scanned alone, so two random-looking ids joined by '/' pass. */
const DEK_REF = /^dek\/([^/#]*)\/([^/#]*)#(\d+)$/;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A field name for an error message: only if it is short and name-like (a key could be used as a name). */
function nameForMessage(name: string): string {
  return /^[A-Za-z][\w-]{0,31}$/.test(name) ? `"${name}"` : '(a name that is not an identifier)';
}

function describeType(value: unknown): string {
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return 'binary data (refused: key material never enters the audit log)';
  if (Array.isArray(value)) return 'an array';
  return value === null ? 'null' : typeof value;
}

function checkString(name: (typeof STRING_FIELDS)[number], value: unknown): string {
  if (typeof value !== 'string') throw new InvalidInputError(`audit event field "${name}" must be a string, got ${describeType(value)}`);
  const max = name === 'detail' ? MAX_DETAIL_CHARS : MAX_ID_CHARS;
  if (value.length > max) throw new InvalidInputError(`audit event field "${name}" is longer than ${max} characters (${value.length})`);
  const ref = name === 'keyRef' ? DEK_REF.exec(value) : null;
  const shape = ref ? (keyMaterialShape(ref[1]!) ?? keyMaterialShape(ref[2]!)) : keyMaterialShape(value);
  if (shape !== undefined) {
    throw new InvalidInputError(`audit event field "${name}" looks like key material (${shape}); the audit log never stores keys, tokens or plaintext`);
  }
  return value;
}

/**
 * Checks an event and copies its fields (the caller may change its object afterwards).
 * @throws InvalidInputError for an unknown field, a wrong type, binary data, an over-long string or
 *   a string that looks like key material; the message names the field, never its value
 */
export function validateEvent(event: AuditEvent): EventFields {
  if (!isPlainObject(event)) throw new InvalidInputError(`an audit event must be a plain object, got ${describeType(event)}`);
  for (const name of Object.keys(event)) {
    if (!EVENT_FIELDS.has(name)) throw new InvalidInputError(`audit event field ${nameForMessage(name)} is not part of the entry shape`);
  }
  const { operation, outcome, records } = event;
  if (typeof operation !== 'string' || operation.length > MAX_OPERATION_CHARS || !OPERATION.test(operation)) {
    throw new InvalidInputError(`audit event operation must be lower-case words joined by '-', at most ${MAX_OPERATION_CHARS} characters`);
  }
  if (operation === 'checkpoint') throw new InvalidInputError("operation 'checkpoint' is written by the log itself");
  if (typeof outcome !== 'string' || !OUTCOMES.has(outcome)) throw new InvalidInputError("audit event outcome must be 'ok', 'denied' or 'failed'");
  const fields: EventFields = { operation, outcome };
  if (records !== undefined) {
    if (!Number.isSafeInteger(records) || records < 0) throw new InvalidInputError('audit event records must be a non-negative integer');
    fields.records = records;
  }
  for (const name of STRING_FIELDS) {
    if (event[name] !== undefined) fields[name] = checkString(name, event[name]);
  }
  return fields;
}

/** The entry without its hash: what the hash covers. */
export type EntryBody = Omit<AuditEntry, 'hash'>;

export async function hashEntry(body: EntryBody): Promise<string> {
  return sha256Hex(canonicalJson(body as never));
}

/** Builds, hashes and encodes an entry. */
export async function sealEntry(body: EntryBody): Promise<{ entry: AuditEntry; line: string }> {
  const entry: AuditEntry = { ...body, hash: await hashEntry(body) };
  return { entry, line: canonicalJson(entry as never) };
}

function fail(what: string): never {
  throw new FormatError(`audit line ${what}`);
}

function optionalString(obj: Record<string, unknown>, name: string): void {
  if (obj[name] !== undefined && typeof obj[name] !== 'string') fail(`field "${name}" is not a string`);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function parseCheckpoint(value: unknown): AuditCheckpoint {
  if (!isPlainObject(value)) fail('checkpoint is not an object');
  for (const name of Object.keys(value)) if (!CHECKPOINT_FIELDS.has(name)) fail('checkpoint has an unknown field');
  const { seq, hash, time, signature } = value;
  if (!isCount(seq) || typeof hash !== 'string' || !HASH_HEX.test(hash) || typeof time !== 'string' || !ISO_TIME.test(time)) fail('checkpoint fields are malformed');
  if (typeof signature !== 'string' || !/^[A-Za-z0-9_-]{1,200}$/.test(signature)) fail('checkpoint signature is not base64url');
  return { seq, hash, time, signature };
}

/**
 * Parses one stored line and checks its shape (closed, typed). Does not check the hash.
 * @throws FormatError naming what is wrong, never the line's content
 */
export function parseAuditLine(line: string): AuditEntry {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    fail('is not JSON');
  }
  if (!isPlainObject(value)) fail('is not a JSON object');
  for (const name of Object.keys(value)) if (!ENTRY_FIELDS.has(name)) fail(`has an unknown field`);
  if (value.v !== AUDIT_FORMAT_VERSION) fail(`format version is not ${AUDIT_FORMAT_VERSION}`);
  if (!isCount(value.seq) || value.seq === 0) fail('seq is not a positive integer');
  if (typeof value.time !== 'string' || !ISO_TIME.test(value.time)) fail('time is not ISO 8601 UTC');
  if (typeof value.operation !== 'string' || !OPERATION.test(value.operation)) fail('operation is malformed');
  if (typeof value.outcome !== 'string' || !OUTCOMES.has(value.outcome)) fail('outcome is malformed');
  if (value.records !== undefined && !isCount(value.records)) fail('records is not a non-negative integer');
  for (const name of STRING_FIELDS) optionalString(value, name);
  for (const name of ['prevHash', 'hash']) if (typeof value[name] !== 'string' || !HASH_HEX.test(value[name] as string)) fail(`${name} is not 64 lower-case hex digits`);
  const isCheckpoint = value.operation === 'checkpoint';
  if (isCheckpoint !== (value.checkpoint !== undefined)) fail("has a checkpoint field without operation 'checkpoint' or the reverse");
  const entry = value as unknown as AuditEntry;
  return isCheckpoint ? { ...entry, checkpoint: parseCheckpoint(value.checkpoint) } : entry;
}
