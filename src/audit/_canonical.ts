/**
 * The canonical JSON the audit log and shred receipts hash, sign and store: RFC 8785 (JSON
 * Canonicalization Scheme) restricted to the values they hold, where it is exact and short to state:
 * objects with member names sorted by UTF-16 code units, arrays in order, no whitespace, strings as
 * ECMAScript JSON.stringify writes them (RFC 8785 section 3.2.2.2), true and false, and only
 * non-negative safe integers as numbers (their shortest decimal form). Absent fields are left out,
 * never written as null.
 */
import { FormatError } from '../errors.js';
import { sha256 } from '../kms/_envelope.js';

/** What an audit entry or a receipt is made of. */
export type CanonicalValue = string | number | boolean | readonly CanonicalValue[] | { readonly [key: string]: CanonicalValue | undefined };

/**
 * @throws FormatError for a value outside that domain (a bug in this module's callers, not user input)
 */
export function canonicalJson(value: CanonicalValue): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw new FormatError('canonical JSON holds only non-negative safe integers');
    return String(value);
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  // Arrays keep their order (RFC 8785 section 3.2.3); shred receipts list what they destroyed.
  if (Array.isArray(value)) return `[${value.map((v: CanonicalValue) => canonicalJson(v)).join(',')}]`;
  if (value === null || typeof value !== 'object') throw new FormatError('canonical JSON holds only strings, integers, booleans, arrays and objects');
  const object = value as { readonly [key: string]: CanonicalValue | undefined };
  const members = Object.keys(object)
    .filter((key) => object[key] !== undefined)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonicalJson(object[key]!)}`);
  return `{${members.join(',')}}`;
}

const encoder = new TextEncoder();

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += bytes[i]!.toString(16).padStart(2, '0');
  return out;
}

/** Lower-case hex SHA-256 of the UTF-8 bytes of `text`. */
export async function sha256Hex(text: string): Promise<string> {
  return toHex(await sha256(encoder.encode(text)));
}

export function utf8(text: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(text);
}
