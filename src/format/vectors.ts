/**
 * Vectors as typed arrays and as the little-endian bytes a payload carries (FORMAT.md section 5).
 * float16 travels as raw IEEE 754 binary16 bits in a Uint16Array; binary as bit-packed bytes.
 */
import { InvalidInputError } from '../errors.js';
import { vectorByteLength, type Dtype } from './context.js';

/** The typed array each dtype is given and returned as. */
export interface VectorTypes {
  float32: Float32Array;
  float16: Uint16Array;
  int8: Int8Array;
  uint8: Uint8Array;
  binary: Uint8Array;
}
export type VectorArray = VectorTypes[Dtype];

const CTORS = { float32: Float32Array, float16: Uint16Array, int8: Int8Array, uint8: Uint8Array, binary: Uint8Array } as const;

/**
 * The payload bytes of a vector: a view of the same memory (no copy), since every platform vecseal
 * runs on is little-endian (loadCore checks).
 * @throws InvalidInputError if the array type or length does not match dtype and dimension
 */
export function vectorToBytes(vector: VectorArray, dtype: Dtype, dimension: number): Uint8Array {
  const Ctor = CTORS[dtype];
  if (Ctor === undefined) throw new InvalidInputError(`unknown dtype ${String(dtype)}`);
  if (!(vector instanceof Ctor) || (dtype !== 'uint8' && dtype !== 'binary' && vector instanceof Uint8Array)) {
    throw new InvalidInputError(`a ${dtype} vector must be a ${Ctor.name}; got ${vector === null ? 'null' : (vector as object)?.constructor?.name ?? typeof vector}`);
  }
  const bytes = new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength);
  const expected = vectorByteLength(dtype, dimension);
  if (bytes.length !== expected) {
    throw new InvalidInputError(`a ${dtype} vector of dimension ${dimension} has ${expected} bytes; got ${bytes.length}`);
  }
  return bytes;
}

/**
 * An aligned typed array holding the vector in `bytes` (which may sit at any offset): a view of the same
 * memory when `bytes` spans its whole buffer, otherwise a copy.
 */
export function bytesToVector<D extends Dtype>(bytes: Uint8Array, dtype: D): VectorTypes[D] {
  const Ctor = CTORS[dtype];
  // Bytes that own their whole (non-shared) buffer are taken over without a copy.
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) {
    return new Ctor(bytes.buffer) as VectorTypes[D];
  }
  const out = new Ctor(bytes.length / Ctor.BYTES_PER_ELEMENT);
  new Uint8Array(out.buffer).set(bytes);
  return out as VectorTypes[D];
}

/**
 * Row views of a packed row-major matrix (no copies): count = matrix.length / dimension.
 * @throws InvalidInputError if the length is not a multiple of the dimension
 */
export function matrixRows<T extends Float32Array | Uint16Array | Int8Array | Uint8Array>(matrix: T, dimension: number): T[] {
  if (!Number.isInteger(dimension) || dimension <= 0 || matrix.length % dimension !== 0) {
    throw new InvalidInputError(`a matrix of ${matrix.length} elements is not a whole number of rows of dimension ${dimension}`);
  }
  const rows: T[] = [];
  for (let off = 0; off < matrix.length; off += dimension) rows.push(matrix.subarray(off, off + dimension) as T);
  return rows;
}
