/**
 * The wrapped-key envelope (FORMAT.md "Wrapped keys"): the canonical bytes of a wrap context, the
 * context digest and checksum that let unwrap tell a wrong context and a tampered key from a wrong
 * KEK, and the versioned binary form a WrappedKey is stored in.
 *
 * The checksum is not a MAC (no key exists before unwrap); it catches corruption and edits that do
 * not recompute it. Cryptographic integrity comes from the KEK's own authenticated wrap.
 */
import { FormatError, InvalidInputError } from '../errors.js';
import { loadCore } from '../core/index.js';
import type { WrapContext, WrappedKey } from './provider.js';

export const CONTEXT_DIGEST_BYTES = 16;
export const CHECKSUM_BYTES = 16;
/** Version of the binary wrapped-key form written by encodeWrappedKey. */
export const WRAPPED_KEY_FORMAT = 1;

const MAGIC = [0x56, 0x53, 0x57, 0x4b]; // "VSWK"
const MAX_NESTING = 4;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Field tags of the binary form. Tags below 0x80 are critical (unknown ones are refused); 0x80 and up may be skipped. */
const enum Tag {
  Provider = 0x01,
  KekId = 0x02,
  KekVersion = 0x03,
  Algorithm = 0x04,
  Bytes = 0x05,
  ContextDigest = 0x06,
  Part = 0x07,
  Checksum = 0x08,
}

/** Canonical bytes of a wrap context (length-prefixed fields), used as AAD by providers that take bytes. */
export function encodeWrapContext(ctx: WrapContext): Uint8Array<ArrayBuffer> {
  const fields = [encoder.encode('vecseal/wrap/v1'), encoder.encode(ctx.dekId), encoder.encode(String(ctx.keyVersion)), encoder.encode(ctx.collection), encoder.encode(ctx.tenant)];
  const out = new Uint8Array(fields.reduce((n, f) => n + 4 + f.length, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const f of fields) {
    view.setUint32(at, f.length, false);
    out.set(f, at + 4);
    at += 4 + f.length;
  }
  return out;
}

/** SHA-256 from the WebAssembly core; WebCrypto where WebAssembly is blocked (CSP). */
export async function sha256(data: Uint8Array): Promise<Uint8Array> {
  try {
    return (await loadCore()).sha256(data);
  } catch {
    return new Uint8Array(await crypto.subtle.digest('SHA-256', new Uint8Array(data)));
  }
}

/** Equality without an early exit. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

export async function contextDigestOf(ctx: WrapContext): Promise<Uint8Array> {
  return (await sha256(encodeWrapContext(ctx))).slice(0, CONTEXT_DIGEST_BYTES);
}

/** Checksum over every field but the checksum itself (parts enter by their own checksums). */
export async function checksumOf(w: Omit<WrappedKey, 'checksum'>): Promise<Uint8Array> {
  const body = encodeFields(w, false);
  const input = new Uint8Array(body.length + 22);
  input.set(encoder.encode('vecseal/wrapped-key/v1'), 0);
  input.set(body, 22);
  return (await sha256(input)).slice(0, CHECKSUM_BYTES);
}

function field(tag: Tag, value: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + value.length);
  out[0] = tag;
  new DataView(out.buffer).setUint32(1, value.length, false);
  out.set(value, 5);
  return out;
}

/** The chunks joined into one new array. */
export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function encodeFields(w: Omit<WrappedKey, 'checksum'> & { checksum?: Uint8Array }, withChecksum: boolean): Uint8Array {
  const chunks = [field(Tag.Provider, encoder.encode(w.provider)), field(Tag.KekId, encoder.encode(w.kekId))];
  if (w.kekVersion !== undefined) chunks.push(field(Tag.KekVersion, encoder.encode(w.kekVersion)));
  chunks.push(field(Tag.Algorithm, encoder.encode(w.algorithm)), field(Tag.Bytes, w.bytes), field(Tag.ContextDigest, w.contextDigest));
  for (const part of w.parts ?? []) chunks.push(field(Tag.Part, encodeWrappedKey(part)));
  if (withChecksum) chunks.push(field(Tag.Checksum, w.checksum!));
  return concat(chunks);
}

/**
 * The versioned binary form of a wrapped key (FORMAT.md "Wrapped keys"): "VSWK", format version,
 * then tag | u32 length | value fields in tag order.
 */
export function encodeWrappedKey(wrapped: WrappedKey): Uint8Array {
  if (wrapped === null || typeof wrapped !== 'object' || !(wrapped.bytes instanceof Uint8Array) || !(wrapped.checksum instanceof Uint8Array)) {
    throw new InvalidInputError('encodeWrappedKey needs a WrappedKey');
  }
  return concat([Uint8Array.from([...MAGIC, WRAPPED_KEY_FORMAT]), encodeFields(wrapped, true)]);
}

/**
 * Parses encodeWrappedKey's output. Checks structure only; unwrap checks the checksum.
 * @throws FormatError for anything that is not a well-formed wrapped key of a known version
 */
export function decodeWrappedKey(bytes: Uint8Array): WrappedKey {
  if (!(bytes instanceof Uint8Array)) throw new InvalidInputError('decodeWrappedKey needs a Uint8Array');
  return decodeAt(bytes, 0);
}

function decodeAt(bytes: Uint8Array, depth: number): WrappedKey {
  if (depth > MAX_NESTING) throw new FormatError(`wrapped key nests parts deeper than ${MAX_NESTING}`);
  if (bytes.length < 5 || MAGIC.some((b, i) => bytes[i] !== b)) throw new FormatError('not a vecseal wrapped key (magic "VSWK" missing)');
  if (bytes[4] !== WRAPPED_KEY_FORMAT) throw new FormatError(`wrapped key format version ${bytes[4]} is not supported (this SDK reads ${WRAPPED_KEY_FORMAT})`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = (b: Uint8Array, name: string): string => {
    try {
      return decoder.decode(b);
    } catch (cause) {
      throw new FormatError(`wrapped key ${name} is not UTF-8`, { cause });
    }
  };
  const out: Partial<WrappedKey> & { parts?: WrappedKey[] } = {};
  let at = 5;
  let lastTag = 0;
  while (at < bytes.length) {
    if (at + 5 > bytes.length) throw new FormatError('wrapped key is truncated (field header)');
    const tag = bytes[at]!;
    const length = view.getUint32(at + 1, false);
    const start = at + 5;
    if (start + length > bytes.length) throw new FormatError('wrapped key is truncated (field value)');
    const value = bytes.slice(start, start + length);
    at = start + length;
    if (tag < lastTag || (tag === lastTag && tag !== Tag.Part)) throw new FormatError(`wrapped key fields out of order or repeated (tag 0x${tag.toString(16)})`);
    lastTag = tag;
    switch (tag) {
      case Tag.Provider: out.provider = text(value, 'provider'); break;
      case Tag.KekId: out.kekId = text(value, 'kekId'); break;
      case Tag.KekVersion: out.kekVersion = text(value, 'kekVersion'); break;
      case Tag.Algorithm: out.algorithm = text(value, 'algorithm'); break;
      case Tag.Bytes: out.bytes = value; break;
      case Tag.ContextDigest: out.contextDigest = value; break;
      case Tag.Part: (out.parts ??= []).push(decodeAt(value, depth + 1)); break;
      case Tag.Checksum: out.checksum = value; break;
      default:
        if (tag < 0x80) throw new FormatError(`wrapped key has an unknown critical field (tag 0x${tag.toString(16)})`);
    }
  }
  for (const name of ['provider', 'kekId', 'algorithm', 'bytes', 'contextDigest', 'checksum'] as const) {
    if (out[name] === undefined) throw new FormatError(`wrapped key lacks its ${name} field`);
  }
  if (out.contextDigest!.length !== CONTEXT_DIGEST_BYTES || out.checksum!.length !== CHECKSUM_BYTES) throw new FormatError('wrapped key digest fields have the wrong length');
  return out as WrappedKey;
}
