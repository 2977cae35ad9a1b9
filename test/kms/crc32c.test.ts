/**
 * CRC-32C (src/kms/_crc32c.ts) against published known answers (test/vectors/crc32c/README.md),
 * plus properties a table-free implementation could get wrong. Portable (Node and browsers).
 */
import { describe, expect, it } from 'vitest';
import { crc32c } from '../../src/kms/_crc32c.js';
import { fromHex } from '../_assert.js';
import vectors from '../vectors/crc32c/crc32c.json';

interface Case {
  name: string;
  hex?: string;
  ascii?: string;
  crc32c: string;
}

function inputOf(c: Case): Uint8Array {
  return c.ascii !== undefined ? new TextEncoder().encode(c.ascii) : fromHex(c.hex ?? '');
}

describe('CRC-32C', () => {
  for (const c of vectors.cases as Case[]) {
    it(`known answer ${c.name}`, () => {
      expect(crc32c(inputOf(c)).toString(16).padStart(8, '0')).toBe(c.crc32c);
    });
  }

  it('is the Castagnoli CRC, not the IEEE CRC-32 of zlib (0xcbf43926 for "123456789")', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).not.toBe(0xcbf43926);
  });

  it('returns an unsigned 32-bit integer and reads only its view of a larger buffer', () => {
    const backing = new Uint8Array(48).fill(0xee);
    const view = backing.subarray(7, 39).fill(0);
    const value = crc32c(view);
    expect(value).toBe(0x8a9136aa);
    expect(Number.isInteger(value) && value >= 0 && value <= 0xffffffff).toBe(true);
  });

  it('changes when any single bit of a DEK-sized input flips', () => {
    const data = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff);
    const base = crc32c(data);
    for (let bit = 0; bit < data.length * 8; bit++) {
      const copy = data.slice();
      copy[bit >> 3]! ^= 1 << (bit & 7);
      expect(crc32c(copy)).not.toBe(base);
    }
  });
});
