/**
 * Record context and its canonical encoding (FORMAT.md section 2): the fields every record is bound
 * to through the AES-GCM additional data. Length-prefixed values in a fixed tag order make the
 * encoding injective: two different contexts never produce the same bytes.
 */
import { InvalidInputError } from '../errors.js';

/** Element types of a vector and their one-byte codes in the context. */
export const DTYPE_CODES = { float32: 1, float16: 2, int8: 3, uint8: 4, binary: 5 } as const;
export type Dtype = keyof typeof DTYPE_CODES;

/** Largest dimension a record may declare (u32 in the encoding; far above any embedding model). */
export const MAX_DIMENSION = 1 << 24;

export interface RecordContext {
  /** Identity of the data-encryption key (the key manager assigns it; one per collection and tenant). */
  dekId: string;
  collection: string;
  /** Tenant; use '' for single-tenant apps. */
  tenant: string;
  /** The record's row id in the database. */
  recordId: string;
  dtype: Dtype;
  /** Number of elements (bits for `binary`). */
  dimension: number;
  /** Embedding model id, bound when given (an absent model id differs from an empty one). */
  modelId?: string;
  /** Extra caller-chosen fields bound to the record (sorted by key when encoded). */
  fields?: Readonly<Record<string, string>>;
}

const encoder = new TextEncoder();
// TextEncoder would silently turn a lone surrogate into U+FFFD, making two strings encode alike.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function utf8(name: string, value: unknown): Uint8Array {
  if (typeof value !== 'string') throw new InvalidInputError(`context.${name} must be a string; got ${typeof value}`);
  if (LONE_SURROGATE.test(value)) throw new InvalidInputError(`context.${name} must be well-formed Unicode (no lone surrogates)`);
  return encoder.encode(value);
}

/** Byte length of a vector of `dimension` elements of `dtype` (FORMAT.md section 5). */
export function vectorByteLength(dtype: Dtype, dimension: number): number {
  switch (dtype) {
    case 'float32':
      return 4 * dimension;
    case 'float16':
      return 2 * dimension;
    case 'int8':
    case 'uint8':
      return dimension;
    case 'binary':
      return Math.ceil(dimension / 8);
  }
}

/** Checks the non-string fields of a context (strings are checked as they are encoded). */
export function checkContext(ctx: BatchContext): void {
  if (ctx === null || typeof ctx !== 'object') throw new InvalidInputError('context must be an object');
  if (!(ctx.dtype in DTYPE_CODES)) throw new InvalidInputError(`context.dtype must be one of ${Object.keys(DTYPE_CODES).join(', ')}; got ${String(ctx.dtype)}`);
  if (!Number.isInteger(ctx.dimension) || ctx.dimension < 0 || ctx.dimension > MAX_DIMENSION) {
    throw new InvalidInputError(`context.dimension must be an integer in 0..${MAX_DIMENSION}; got ${String(ctx.dimension)}`);
  }
}

/** A context without its record id: what the records of one batch share. */
export type BatchContext = Omit<RecordContext, 'recordId'>;

/**
 * The canonical encoding of a context (FORMAT.md section 2).
 * @throws InvalidInputError for a missing or ill-typed field
 */
export function encodeContext(ctx: RecordContext): Uint8Array {
  return contextEncoder(ctx)(ctx.recordId);
}

/**
 * The encodings of many contexts that differ only in their record id, packed in one buffer. The
 * shared fields are checked and encoded once; each id is written straight into the buffer.
 * @throws InvalidInputError for a bad shared field or record id (naming the index)
 */
export function encodeContexts(base: BatchContext, recordIds: readonly string[]): { bytes: Uint8Array; offsets: Uint32Array } {
  const { before, after } = contextParts(base);
  if (!Array.isArray(recordIds)) throw new InvalidInputError('recordIds must be an array of strings');
  let capacity = 0;
  for (let i = 0; i < recordIds.length; i++) {
    const id = recordIds[i];
    if (typeof id !== 'string') throw new InvalidInputError(`record ${i}: context.recordId must be a string; got ${typeof id}`);
    capacity += before.length + 5 + 3 * id.length + after.length; // UTF-8 needs at most 3 bytes per UTF-16 unit
  }
  const bytes = new Uint8Array(capacity);
  const offsets = new Uint32Array(recordIds.length + 1);
  let at = 0;
  for (let i = 0; i < recordIds.length; i++) {
    const id = recordIds[i]!;
    bytes.set(before, at);
    at += before.length;
    bytes[at] = 4;
    const written = writeUtf8(id, bytes, at + 5, i);
    bytes[at + 1] = written >>> 24;
    bytes[at + 2] = (written >>> 16) & 0xff;
    bytes[at + 3] = (written >>> 8) & 0xff;
    bytes[at + 4] = written & 0xff;
    at += 5 + written;
    bytes.set(after, at);
    at += after.length;
    offsets[i + 1] = at;
  }
  return { bytes: bytes.subarray(0, at), offsets };
}

/** Writes `value` as UTF-8 at out[at..]; ASCII directly, anything else through TextEncoder. */
function writeUtf8(value: string, out: Uint8Array, at: number, index: number): number {
  for (let k = 0; k < value.length; k++) {
    const c = value.charCodeAt(k);
    if (c >= 0x80) {
      if (LONE_SURROGATE.test(value)) throw new InvalidInputError(`record ${index}: context.recordId must be well-formed Unicode (no lone surrogates)`);
      return encoder.encodeInto(value, out.subarray(at)).written;
    }
    out[at + k] = c;
  }
  return value.length;
}

/**
 * Returns a function that encodes the context `base` with a given record id. Tags 1-3 come before
 * the record id (tag 4) and tags 5-8 after it, so both runs are encoded once.
 */
export function contextEncoder(base: BatchContext): (recordId: string) => Uint8Array {
  const { before, after } = contextParts(base);
  return (recordId) => {
    const id = utf8('recordId', recordId);
    const out = new Uint8Array(before.length + 5 + id.length + after.length);
    out.set(before, 0);
    out[before.length] = 4;
    new DataView(out.buffer).setUint32(before.length + 1, id.length, false);
    out.set(id, before.length + 5);
    out.set(after, before.length + 5 + id.length);
    return out;
  };
}

/** The encoded fields before the record id (tags 1-3) and after it (tags 5-8). */
function contextParts(base: BatchContext): { before: Uint8Array; after: Uint8Array } {
  checkContext(base);
  const before = tlv([
    [1, utf8('dekId', base.dekId)],
    [2, utf8('collection', base.collection)],
    [3, utf8('tenant', base.tenant)],
  ]);
  const afterParts: [number, Uint8Array][] = [
    [5, Uint8Array.of(DTYPE_CODES[base.dtype])],
    [6, u32(base.dimension)],
  ];
  if (base.modelId !== undefined) afterParts.push([7, utf8('modelId', base.modelId)]);
  if (base.fields !== undefined) {
    if (base.fields === null || typeof base.fields !== 'object') throw new InvalidInputError('context.fields must be an object of strings');
    const entries = Object.entries(base.fields).map(([k, v]) => [utf8(`fields key`, k), utf8(`fields.${k}`, v)] as const);
    entries.sort((a, b) => compareBytes(a[0], b[0]));
    for (const [k, v] of entries) {
      const value = new Uint8Array(4 + k.length + v.length);
      value.set(u32(k.length), 0);
      value.set(k, 4);
      value.set(v, 4 + k.length);
      afterParts.push([8, value]);
    }
  }
  return { before, after: tlv(afterParts) };
}

function tlv(parts: readonly [number, Uint8Array][]): Uint8Array {
  let total = 0;
  for (const [, v] of parts) total += 5 + v.length;
  const out = new Uint8Array(total);
  let off = 0;
  for (const [tag, v] of parts) {
    out[off] = tag;
    out.set(u32(v.length), off + 1);
    out.set(v, off + 5);
    off += 5 + v.length;
  }
  return out;
}

export function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, false);
  return b;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}
