/**
 * Argument checks and byte-list helpers shared by the core wrappers. Checks run before anything is
 * allocated; messages name the argument and what was expected, never its contents.
 */
import { InvalidInputError } from '../errors.js';
import type { ByteList, PackedBytes } from './types.js';

/** Largest length the pointer ABI (u32 offsets) carries in one piece. */
export const MAX_TOTAL_BYTES = 0xffff_ffff;

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (ArrayBuffer.isView(value)) return value.constructor.name;
  return typeof value;
}

export function requireBytes(name: string, value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new InvalidInputError(`${name} must be a Uint8Array; got ${describe(value)}`);
  return value;
}

export function requireLength(name: string, value: unknown, allowed: readonly number[]): Uint8Array {
  const bytes = requireBytes(name, value);
  if (!allowed.includes(bytes.length)) {
    throw new InvalidInputError(`${name} must be ${allowed.join(' or ')} bytes; got ${bytes.length} bytes`);
  }
  return bytes;
}

export function requireInteger(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidInputError(`${name} must be an integer in ${min}..${max}; got ${typeof value === 'number' ? value : typeof value}`);
  }
  return value;
}

/** Packs separate arrays into one buffer with offsets. */
export function packBytes(list: readonly Uint8Array[]): PackedBytes {
  const offsets = new Uint32Array(list.length + 1);
  let total = 0;
  for (let i = 0; i < list.length; i++) {
    total += requireBytes(`item ${i}`, list[i]).length;
    if (total > MAX_TOTAL_BYTES) throw new InvalidInputError(`packed size must be below 4 GiB; split the batch`);
    offsets[i + 1] = total;
  }
  const bytes = new Uint8Array(total);
  for (let i = 0; i < list.length; i++) bytes.set(list[i]!, offsets[i]!);
  return { bytes, offsets };
}

/** Record i of a packed list (a view, not a copy). */
export function segment(packed: PackedBytes, index: number): Uint8Array {
  return packed.bytes.subarray(packed.offsets[index]!, packed.offsets[index + 1]!);
}

/** All records of a packed list as views. */
export function unpackBytes(packed: PackedBytes): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i + 1 < packed.offsets.length; i++) out.push(segment(packed, i));
  return out;
}

/**
 * A read-only view over a ByteList that can copy any contiguous run of items into linear memory
 * with one `set()` when the list is packed.
 */
export class ItemList {
  readonly count: number;
  private readonly packed: PackedBytes | undefined;
  private readonly items: readonly Uint8Array[] | undefined;

  constructor(name: string, list: ByteList) {
    if (Array.isArray(list)) {
      const items = list as readonly Uint8Array[];
      for (let i = 0; i < items.length; i++) requireBytes(`${name}[${i}]`, items[i]);
      this.items = items;
      this.count = items.length;
    } else if (list !== null && typeof list === 'object' && 'bytes' in list && 'offsets' in list) {
      const { bytes, offsets } = list as PackedBytes;
      requireBytes(`${name}.bytes`, bytes);
      if (!(offsets instanceof Uint32Array) || offsets.length < 1) {
        throw new InvalidInputError(`${name}.offsets must be a Uint32Array of count + 1 entries`);
      }
      if (offsets[0] !== 0 || offsets[offsets.length - 1]! > bytes.length) {
        throw new InvalidInputError(`${name}.offsets must start at 0 and end within ${name}.bytes (${bytes.length} bytes)`);
      }
      for (let i = 1; i < offsets.length; i++) {
        if (offsets[i]! < offsets[i - 1]!) throw new InvalidInputError(`${name}.offsets must not decrease (at index ${i})`);
      }
      this.packed = { bytes, offsets };
      this.count = offsets.length - 1;
    } else {
      throw new InvalidInputError(`${name} must be an array of Uint8Array or { bytes, offsets }; got ${describe(list)}`);
    }
  }

  length(i: number): number {
    if (this.packed) return this.packed.offsets[i + 1]! - this.packed.offsets[i]!;
    return this.items![i]!.length;
  }

  item(i: number): Uint8Array {
    if (this.packed) return segment(this.packed, i);
    return this.items![i]!;
  }

  /** Copies items [from, to) contiguously to dst at ptr; returns the number of bytes written. */
  copyRange(dst: Uint8Array, ptr: number, from: number, to: number): number {
    if (this.packed) {
      const start = this.packed.offsets[from]!;
      const end = this.packed.offsets[to]!;
      dst.set(this.packed.bytes.subarray(start, end), ptr);
      return end - start;
    }
    let off = 0;
    for (let i = from; i < to; i++) {
      const it = this.items![i]!;
      dst.set(it, ptr + off);
      off += it.length;
    }
    return off;
  }
}

/**
 * Fixed-width per-record values (keys, IVs): one shared value, an array, or count x width packed.
 */
export class FixedList {
  readonly width: number;
  private readonly packed: Uint8Array | undefined;
  private readonly items: readonly Uint8Array[] | undefined;

  constructor(name: string, value: readonly Uint8Array[] | Uint8Array, count: number, widths: readonly number[]) {
    if (value instanceof Uint8Array) {
      const width = widths.find((w) => w * count === value.length) ?? (count === 0 ? widths[0]! : -1);
      if (width < 0) {
        throw new InvalidInputError(`${name} must be ${count} x (${widths.join(' or ')}) bytes packed; got ${value.length} bytes`);
      }
      this.packed = value;
      this.width = width;
    } else if (Array.isArray(value)) {
      if (value.length !== count) throw new InvalidInputError(`${name} must have one entry per record (${count}); got ${value.length}`);
      const width = count > 0 ? requireLength(`${name}[0]`, value[0], widths).length : widths[0]!;
      for (let i = 0; i < count; i++) requireLength(`${name}[${i}]`, value[i], [width]);
      this.items = value;
      this.width = width;
    } else {
      throw new InvalidInputError(`${name} must be a Uint8Array or an array of Uint8Array; got ${describe(value)}`);
    }
  }

  copyRange(dst: Uint8Array, ptr: number, from: number, to: number): void {
    if (this.packed) {
      dst.set(this.packed.subarray(from * this.width, to * this.width), ptr);
      return;
    }
    for (let i = from; i < to; i++) dst.set(this.items![i]!, ptr + (i - from) * this.width);
  }
}
