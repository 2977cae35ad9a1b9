/**
 * Typed-array vectors to payload bytes and back, for every dtype, including unaligned payload
 * slices and packed matrices.
 */
import { describe, expect, it } from 'vitest';
import { bytesToVector, matrixRows, vectorToBytes } from '../../src/format/index.js';

describe('vectors and their bytes', () => {
  it('round-trips every dtype through bytes at an unaligned offset', () => {
    const cases = [
      ['float32', Float32Array.from([0.5, -1.25, 3e38, Number.NaN]), 4],
      ['float16', Uint16Array.from([0x3c00, 0xc000, 0x7c00]), 3],
      ['int8', Int8Array.from([-128, 0, 127]), 3],
      ['uint8', Uint8Array.from([0, 255, 7]), 3],
      ['binary', Uint8Array.from([0b10100101, 0b11110000]), 12],
    ] as const;
    for (const [dtype, vector, dim] of cases) {
      const bytes = vectorToBytes(vector, dtype, dim);
      expect(bytes.length).toBe(vector.byteLength);
      const shifted = new Uint8Array(bytes.length + 3);
      shifted.set(bytes, 1);
      const back = bytesToVector(shifted.subarray(1, 1 + bytes.length), dtype);
      expect(back.constructor).toBe(vector.constructor);
      expect(Array.from(new Uint8Array(back.buffer))).toEqual(Array.from(bytes));
    }
    // float32 is little-endian in the payload
    expect(Array.from(vectorToBytes(Float32Array.of(1), 'float32', 1))).toEqual([0, 0, 0x80, 0x3f]);
  });

  it('rejects a wrong array type or length with InvalidInputError', () => {
    const bad = [
      () => vectorToBytes(new Float32Array(3), 'float32', 4),
      () => vectorToBytes(new Uint8Array(16) as never, 'float32', 4),
      () => vectorToBytes(new Float32Array(4) as never, 'float16', 4),
      () => vectorToBytes(new Uint8Array(2), 'binary', 17),
      () => vectorToBytes([1, 2] as never, 'int8', 2),
    ];
    for (const f of bad) expect(f).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
  });

  it('splits a packed matrix into row views', () => {
    const m = Float32Array.from({ length: 12 }, (_, i) => i);
    const rows = matrixRows(m, 4);
    expect(rows.map((r) => Array.from(r))).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]);
    expect(rows[1]!.buffer).toBe(m.buffer);
    expect(() => matrixRows(m, 5)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
  });
});
