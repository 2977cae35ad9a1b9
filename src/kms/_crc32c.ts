/**
 * CRC-32C (Castagnoli; RFC 3720 section 12.1 and appendix B.4): reflected polynomial 0x82F63B78,
 * initial value and final XOR 0xFFFFFFFF. Google Cloud KMS uses it to check request and response
 * fields end to end (the *Crc32c fields of encrypt and decrypt).
 *
 * Bit by bit, without a lookup table: one of the inputs is a DEK, and a table indexed by secret
 * bytes leaks them through the cache; the mask `-(crc & 1)` also avoids a branch on secret bits.
 * The inputs here are tens of bytes, so the table's speed is not missed.
 */

const POLYNOMIAL = 0x82f63b78;

/** Largest value a CRC-32C can have (the KMS JSON carries it as an int64). */
export const CRC32C_MAX = 0xffff_ffff;

/** The CRC-32C of `data`, as an unsigned 32-bit integer. */
export function crc32c(data: Uint8Array): number {
  let crc = 0xffff_ffff;
  for (let i = 0; i < data.length; i++) {
    crc ^= data[i]!;
    for (let bit = 0; bit < 8; bit++) crc = (crc >>> 1) ^ (POLYNOMIAL & -(crc & 1));
  }
  return ~crc >>> 0;
}
