/**
 * Static scratch memory of the core: every byte that can hold key material, keystream or hash
 * state lives in this one region, so `wipeSecrets()` can clear all of it with a single fill.
 *
 * Nothing here is indexed by secret data; offsets are compile-time constants.
 */

/** Bitsliced round keys: up to 15 rounds x 8 bit planes x 16 bytes (AES-256). */
export const RK_PLANES_BYTES: usize = 15 * 8 * 16;
/** Byte-order round keys produced by the FIPS 197 key expansion, before bitslicing. */
export const RK_BYTES_BYTES: usize = 15 * 16;

const SECRET_REGION_BYTES: usize = 4096;
export const SECRET_BASE: usize = memory.data(<i32>SECRET_REGION_BYTES, 64);

export const RK_PLANES: usize = SECRET_BASE; //                         1920 bytes
export const RK_BYTES: usize = RK_PLANES + RK_PLANES_BYTES; //           240 bytes
export const AES_TMP: usize = RK_BYTES + RK_BYTES_BYTES; //             128 bytes: blocks for SubWord
export const KEYSTREAM: usize = AES_TMP + 128; //                       128 bytes: 8 keystream blocks
export const GHASH_KEY: usize = KEYSTREAM + 128; //                      192 bytes: 24 masked u64 powers of H
export const GCM_TAG_MASK: usize = GHASH_KEY + 192; //                    16 bytes: E(K, J0)
export const BLOCK_TMP: usize = GCM_TAG_MASK + 16; //                     16 bytes: padded partial block
export const SHA_INNER: usize = BLOCK_TMP + 16; //                       112 bytes: SHA-256 context
export const SHA_OUTER: usize = SHA_INNER + 112; //                      112 bytes: SHA-256 context
export const HMAC_ISTATE: usize = SHA_OUTER + 112; //                     32 bytes: state after key ^ ipad
export const HMAC_OSTATE: usize = HMAC_ISTATE + 32; //                    32 bytes: state after key ^ opad
export const HMAC_KEYBLOCK: usize = HMAC_OSTATE + 32; //                  64 bytes: padded HMAC key
export const HKDF_T: usize = HMAC_KEYBLOCK + 64; //                       32 bytes: previous HKDF-Expand block
export const SHA_W: usize = HKDF_T + 32; //                              256 bytes: SHA-256 message schedule
const SECRET_END: usize = SHA_W + 256;

// Compile-time guard: the layout must fit the reserved region.
// (AssemblyScript folds this; a violation fails at instantiation with an unreachable.)
export function layoutFits(): bool {
  return SECRET_END - SECRET_BASE <= SECRET_REGION_BYTES;
}

/** Zero every byte of the secret scratch region. */
export function wipeSecrets(): void {
  memory.fill(SECRET_BASE, 0, SECRET_REGION_BYTES);
}
