/**
 * KMIP TTLV encoding (KMIP 1.4 section 9.1, the same in 1.2): every item is a 3-byte tag, a 1-byte
 * type, a 4-byte big-endian length and a value padded to a multiple of 8 bytes.
 *
 * Decoding is strict because the bytes come from the network: unknown types, tags outside the 0x42 /
 * 0x54 ranges, wrong fixed lengths, non-zero padding, Booleans other than 0 and 1, non-minimal Big
 * Integers, invalid UTF-8, structures whose children overrun or underrun them, nesting deeper than
 * MAX_DEPTH and trailing bytes are all refused with FormatError. Nothing here is KMIP-message aware;
 * messages.ts builds requests and reads responses from these items.
 */
import { FormatError, InvalidInputError } from '../../errors.js';
import { concat } from '../_envelope.js';

/** Item Type codes (KMIP 1.4 section 9.1.1.2). */
export const ItemType = {
  Structure: 0x01,
  Integer: 0x02,
  LongInteger: 0x03,
  BigInteger: 0x04,
  Enumeration: 0x05,
  Boolean: 0x06,
  TextString: 0x07,
  ByteString: 0x08,
  DateTime: 0x09,
  Interval: 0x0a,
} as const;

/** Bytes of tag + type + length before every value. */
export const TTLV_HEADER_BYTES = 8;
/** Structures nest at most this deep (KMIP messages use about ten levels). */
export const MAX_DEPTH = 32;

export interface TtlvStructure { tag: number; type: typeof ItemType.Structure; value: TtlvItem[] }
export interface TtlvInteger { tag: number; type: typeof ItemType.Integer; value: number }
export interface TtlvLongInteger { tag: number; type: typeof ItemType.LongInteger; value: bigint }
export interface TtlvBigInteger { tag: number; type: typeof ItemType.BigInteger; value: bigint }
export interface TtlvEnumeration { tag: number; type: typeof ItemType.Enumeration; value: number }
export interface TtlvBoolean { tag: number; type: typeof ItemType.Boolean; value: boolean }
export interface TtlvTextString { tag: number; type: typeof ItemType.TextString; value: string }
export interface TtlvByteString { tag: number; type: typeof ItemType.ByteString; value: Uint8Array }
/** POSIX seconds. */
export interface TtlvDateTime { tag: number; type: typeof ItemType.DateTime; value: bigint }
/** Seconds. */
export interface TtlvInterval { tag: number; type: typeof ItemType.Interval; value: number }

export type TtlvItem =
  | TtlvStructure
  | TtlvInteger
  | TtlvLongInteger
  | TtlvBigInteger
  | TtlvEnumeration
  | TtlvBoolean
  | TtlvTextString
  | TtlvByteString
  | TtlvDateTime
  | TtlvInterval;

const INT32_MIN = -0x8000_0000;
const INT32_MAX = 0x7fff_ffff;
const UINT32_MAX = 0xffff_ffff;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

function checkTag(tag: number): number {
  if (!Number.isInteger(tag) || !((tag >= 0x420000 && tag <= 0x42ffff) || (tag >= 0x540000 && tag <= 0x54ffff))) {
    throw new InvalidInputError('a KMIP tag must lie in 0x420000-0x42FFFF (defined) or 0x540000-0x54FFFF (extensions)');
  }
  return tag;
}

function uint32(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value > UINT32_MAX) throw new InvalidInputError(`a KMIP ${what} must be an integer from 0 to 2^32 - 1`);
  return value;
}

function int64(value: bigint, what: string): bigint {
  if (typeof value !== 'bigint' || value < INT64_MIN || value > INT64_MAX) throw new InvalidInputError(`a KMIP ${what} must be a bigint in the signed 64-bit range`);
  return value;
}

/** A Structure item. */
export function structure(tag: number, items: readonly TtlvItem[]): TtlvStructure {
  return { tag: checkTag(tag), type: ItemType.Structure, value: [...items] };
}

/** An Integer item (signed 32-bit). */
export function integer(tag: number, value: number): TtlvInteger {
  if (!Number.isInteger(value) || value < INT32_MIN || value > INT32_MAX) throw new InvalidInputError('a KMIP Integer must be a signed 32-bit integer');
  return { tag: checkTag(tag), type: ItemType.Integer, value };
}

/** A Long Integer item (signed 64-bit). */
export function longInteger(tag: number, value: bigint): TtlvLongInteger {
  return { tag: checkTag(tag), type: ItemType.LongInteger, value: int64(value, 'Long Integer') };
}

/** A Big Integer item (any size, two's complement). */
export function bigInteger(tag: number, value: bigint): TtlvBigInteger {
  if (typeof value !== 'bigint') throw new InvalidInputError('a KMIP Big Integer must be a bigint');
  return { tag: checkTag(tag), type: ItemType.BigInteger, value };
}

/** An Enumeration item (unsigned 32-bit). */
export function enumeration(tag: number, value: number): TtlvEnumeration {
  return { tag: checkTag(tag), type: ItemType.Enumeration, value: uint32(value, 'Enumeration') };
}

export function boolean(tag: number, value: boolean): TtlvBoolean {
  if (typeof value !== 'boolean') throw new InvalidInputError('a KMIP Boolean must be a boolean');
  return { tag: checkTag(tag), type: ItemType.Boolean, value };
}

export function textString(tag: number, value: string): TtlvTextString {
  if (typeof value !== 'string') throw new InvalidInputError('a KMIP Text String must be a string');
  return { tag: checkTag(tag), type: ItemType.TextString, value };
}

/** A Byte String item; the bytes are referenced, not copied. */
export function byteString(tag: number, value: Uint8Array): TtlvByteString {
  if (!(value instanceof Uint8Array)) throw new InvalidInputError('a KMIP Byte String must be a Uint8Array');
  return { tag: checkTag(tag), type: ItemType.ByteString, value };
}

/** A Date-Time item from POSIX seconds. */
export function dateTime(tag: number, seconds: bigint): TtlvDateTime {
  return { tag: checkTag(tag), type: ItemType.DateTime, value: int64(seconds, 'Date-Time') };
}

/** An Interval item in seconds (unsigned 32-bit). */
export function interval(tag: number, seconds: number): TtlvInterval {
  return { tag: checkTag(tag), type: ItemType.Interval, value: uint32(seconds, 'Interval') };
}

/** `n` rounded up to a multiple of 8 (arithmetic, not bitwise: lengths reach 2^32 - 1). */
const pad8 = (n: number): number => n + ((8 - (n % 8)) % 8);

/** Two's complement big-endian bytes of `value`, sign-extended to the minimal multiple of 8 bytes. */
function bigIntegerBytes(value: bigint): Uint8Array {
  let bytes = 8;
  // Smallest multiple of 8 bytes whose signed range holds the value.
  while (value < -(1n << BigInt(bytes * 8 - 1)) || value >= 1n << BigInt(bytes * 8 - 1)) bytes += 8;
  let v = BigInt.asUintN(bytes * 8, value);
  const out = new Uint8Array(bytes);
  for (let i = bytes - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** Value bytes before padding. */
function valueBytes(item: TtlvItem, depth: number): Uint8Array {
  switch (item.type) {
    case ItemType.Structure: {
      if (depth >= MAX_DEPTH) throw new InvalidInputError(`KMIP structures may nest at most ${MAX_DEPTH} deep`);
      if (!Array.isArray(item.value)) throw new InvalidInputError('a KMIP Structure value must be an array of items');
      return concat(item.value.map((child) => encodeItem(child, depth + 1)));
    }
    case ItemType.Integer:
    case ItemType.Enumeration:
    case ItemType.Interval: {
      const out = new Uint8Array(4);
      const view = new DataView(out.buffer);
      if (item.type === ItemType.Integer) view.setInt32(0, integer(item.tag, item.value).value, false);
      else view.setUint32(0, uint32(item.value, item.type === ItemType.Enumeration ? 'Enumeration' : 'Interval'), false);
      return out;
    }
    case ItemType.LongInteger:
    case ItemType.DateTime: {
      const out = new Uint8Array(8);
      new DataView(out.buffer).setBigInt64(0, int64(item.value, item.type === ItemType.DateTime ? 'Date-Time' : 'Long Integer'), false);
      return out;
    }
    case ItemType.BigInteger:
      return bigIntegerBytes(bigInteger(item.tag, item.value).value);
    case ItemType.Boolean: {
      const out = new Uint8Array(8);
      out[7] = boolean(item.tag, item.value).value ? 1 : 0;
      return out;
    }
    case ItemType.TextString:
      return encoder.encode(textString(item.tag, item.value).value);
    case ItemType.ByteString:
      return byteString(item.tag, item.value).value;
    default:
      throw new InvalidInputError(`unknown KMIP item type ${String((item as { type: unknown }).type)}`);
  }
}

function encodeItem(item: TtlvItem, depth: number): Uint8Array {
  if (item === null || typeof item !== 'object') throw new InvalidInputError('a KMIP item must be an object { tag, type, value }');
  checkTag(item.tag);
  const value = valueBytes(item, depth);
  const out = new Uint8Array(TTLV_HEADER_BYTES + pad8(value.length));
  out[0] = (item.tag >>> 16) & 0xff;
  out[1] = (item.tag >>> 8) & 0xff;
  out[2] = item.tag & 0xff;
  out[3] = item.type;
  new DataView(out.buffer).setUint32(4, value.length, false);
  out.set(value, TTLV_HEADER_BYTES);
  return out;
}

/**
 * Encodes one item (a whole message is one Structure).
 * @throws InvalidInputError for tags, types or values KMIP cannot carry
 * @example encodeTtlv(integer(0x420020, 8)) // 42 00 20 | 02 | 00 00 00 04 | 00 00 00 08 00 00 00 00
 */
export function encodeTtlv(item: TtlvItem): Uint8Array {
  return encodeItem(item, 0);
}

/** Fixed value lengths; undefined for the variable types. */
const FIXED_LENGTH: Partial<Record<number, number>> = {
  [ItemType.Integer]: 4,
  [ItemType.LongInteger]: 8,
  [ItemType.Enumeration]: 4,
  [ItemType.Boolean]: 8,
  [ItemType.DateTime]: 8,
  [ItemType.Interval]: 4,
};

/** Tag, type and value length of the item starting at `at`, checked against what follows. */
export function readHeader(bytes: Uint8Array, at = 0): { tag: number; type: number; length: number } {
  if (bytes.length - at < TTLV_HEADER_BYTES) throw new FormatError('TTLV item is truncated (header)');
  const tag = (bytes[at]! << 16) | (bytes[at + 1]! << 8) | bytes[at + 2]!;
  if (bytes[at] !== 0x42 && bytes[at] !== 0x54) throw new FormatError(`TTLV tag 0x${tag.toString(16)} is outside the KMIP ranges (0x42xxxx, 0x54xxxx)`);
  const type = bytes[at + 3]!;
  if (type < ItemType.Structure || type > ItemType.Interval) throw new FormatError(`TTLV item 0x${tag.toString(16)} has unknown type 0x${type.toString(16)}`);
  const length = new DataView(bytes.buffer, bytes.byteOffset + at, 4 + 4).getUint32(4, false);
  const fixed = FIXED_LENGTH[type];
  if (fixed !== undefined && length !== fixed) throw new FormatError(`TTLV item 0x${tag.toString(16)} of type 0x${type.toString(16)} must have length ${fixed}, not ${length}`);
  if ((type === ItemType.Structure || type === ItemType.BigInteger) && length % 8 !== 0) {
    throw new FormatError(`TTLV item 0x${tag.toString(16)} of type 0x${type.toString(16)} must have a length that is a multiple of 8, not ${length}`);
  }
  return { tag, type, length };
}

function decodeAt(bytes: Uint8Array, at: number, depth: number): { item: TtlvItem; next: number } {
  const { tag, type, length } = readHeader(bytes, at);
  const start = at + TTLV_HEADER_BYTES;
  const padded = pad8(length);
  if (padded > bytes.length - start) throw new FormatError(`TTLV item 0x${tag.toString(16)} is truncated (needs ${padded} value bytes, has ${bytes.length - start})`);
  for (let i = start + length; i < start + padded; i++) {
    if (bytes[i] !== 0) throw new FormatError(`TTLV item 0x${tag.toString(16)} has non-zero padding`);
  }
  const value = bytes.subarray(start, start + length);
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const next = start + padded;
  switch (type) {
    case ItemType.Structure: {
      if (depth >= MAX_DEPTH) throw new FormatError(`TTLV structures nest deeper than ${MAX_DEPTH}`);
      const items: TtlvItem[] = [];
      let p = start;
      while (p < start + length) {
        // Children are decoded from a view that ends where the structure ends, so none can overrun it.
        const child = decodeAt(bytes.subarray(0, start + length), p, depth + 1);
        items.push(child.item);
        p = child.next;
      }
      return { item: { tag, type, value: items }, next };
    }
    case ItemType.Integer:
      return { item: { tag, type, value: view.getInt32(0, false) }, next };
    case ItemType.Enumeration:
    case ItemType.Interval:
      return { item: { tag, type, value: view.getUint32(0, false) } as TtlvEnumeration | TtlvInterval, next };
    case ItemType.LongInteger:
    case ItemType.DateTime:
      return { item: { tag, type, value: view.getBigInt64(0, false) } as TtlvLongInteger | TtlvDateTime, next };
    case ItemType.BigInteger: {
      if (length === 0) throw new FormatError(`TTLV Big Integer 0x${tag.toString(16)} is empty`);
      let v = 0n;
      for (const b of value) v = (v << 8n) | BigInt(b);
      const signed = BigInt.asIntN(length * 8, v);
      if (length > 8 && bigIntegerBytes(signed).length !== length) throw new FormatError(`TTLV Big Integer 0x${tag.toString(16)} has more sign-extension bytes than needed`);
      return { item: { tag, type, value: signed }, next };
    }
    case ItemType.Boolean: {
      const v = view.getBigUint64(0, false);
      if (v > 1n) throw new FormatError(`TTLV Boolean 0x${tag.toString(16)} is neither 0 nor 1`);
      return { item: { tag, type, value: v === 1n }, next };
    }
    case ItemType.TextString: {
      let text: string;
      try {
        text = decoder.decode(value);
      } catch (cause) {
        throw new FormatError(`TTLV Text String 0x${tag.toString(16)} is not UTF-8`, { cause });
      }
      return { item: { tag, type, value: text }, next };
    }
    default:
      return { item: { tag, type: ItemType.ByteString, value: value.slice() }, next };
  }
}

/**
 * Decodes exactly one item that fills `bytes` (a whole KMIP message is one Structure).
 * @throws FormatError for anything that is not well-formed TTLV (see the file comment)
 */
export function decodeTtlv(bytes: Uint8Array): TtlvItem {
  if (!(bytes instanceof Uint8Array)) throw new InvalidInputError('decodeTtlv needs a Uint8Array');
  const { item, next } = decodeAt(bytes, 0, 0);
  if (next !== bytes.length) throw new FormatError(`TTLV has ${bytes.length - next} bytes after its item`);
  return item;
}

// Reading decoded structures: the message layer finds fields by tag and checks their types.

/** The first child with `tag`, or undefined. */
export function find(s: TtlvStructure, tag: number): TtlvItem | undefined {
  return s.value.find((i) => i.tag === tag);
}

/** Every child with `tag`, in order. */
export function findAll(s: TtlvStructure, tag: number): TtlvItem[] {
  return s.value.filter((i) => i.tag === tag);
}

type ByType = { [K in TtlvItem['type']]: Extract<TtlvItem, { type: K }> };

/** The first child with `tag`, which must have `type` when present. */
export function optional<T extends TtlvItem['type']>(s: TtlvStructure, tag: number, type: T, what: string): ByType[T] | undefined {
  const item = find(s, tag);
  if (item === undefined) return undefined;
  if (item.type !== type) throw new FormatError(`KMIP ${what} has type 0x${item.type.toString(16)}, expected 0x${type.toString(16)}`);
  return item as ByType[T];
}

/** The first child with `tag` and `type`; FormatError naming `what` when absent. */
export function required<T extends TtlvItem['type']>(s: TtlvStructure, tag: number, type: T, what: string): ByType[T] {
  const item = optional(s, tag, type, what);
  if (item === undefined) throw new FormatError(`KMIP ${what} is missing`);
  return item;
}
