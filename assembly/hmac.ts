/**
 * HMAC-SHA256 (RFC 2104, FIPS 198-1).
 *
 * Why it is constant-time: it is SHA-256 (constant-time) over key-dependent blocks whose lengths,
 * not contents, decide every branch. The keyed inner and outer mid-states are computed once per
 * key so that many MACs under one key (HKDF-Expand batches) cost two compressions each.
 */
import { HMAC_ISTATE, HMAC_KEYBLOCK, HMAC_OSTATE, SHA_INNER, SHA_OUTER } from './scratch';
import { sha256Compress, sha256Final, sha256Init, sha256Resume, sha256Update } from './sha256';

const IV_STATE: usize = memory.data<u32>([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

/** Installs an HMAC key: derives the inner (key ^ ipad) and outer (key ^ opad) mid-states. */
export function hmacSetKey(keyPtr: usize, keyLen: usize): void {
  memory.fill(HMAC_KEYBLOCK, 0, 64);
  if (keyLen > 64) {
    sha256Init(SHA_INNER);
    sha256Update(SHA_INNER, keyPtr, keyLen);
    sha256Final(SHA_INNER, HMAC_KEYBLOCK);
  } else if (keyLen > 0) {
    memory.copy(HMAC_KEYBLOCK, keyPtr, keyLen);
  }
  const ipad = i8x16.splat(0x36);
  const flip = i8x16.splat(0x36 ^ 0x5c);
  for (let i: usize = 0; i < 64; i += 16) {
    v128.store(HMAC_KEYBLOCK + i, v128.xor(v128.load(HMAC_KEYBLOCK + i), ipad));
  }
  memory.copy(HMAC_ISTATE, IV_STATE, 32);
  sha256Compress(HMAC_ISTATE, HMAC_KEYBLOCK);
  for (let i: usize = 0; i < 64; i += 16) {
    v128.store(HMAC_KEYBLOCK + i, v128.xor(v128.load(HMAC_KEYBLOCK + i), flip));
  }
  memory.copy(HMAC_OSTATE, IV_STATE, 32);
  sha256Compress(HMAC_OSTATE, HMAC_KEYBLOCK);
  memory.fill(HMAC_KEYBLOCK, 0, 64);
}

/** Starts a MAC under the installed key. */
export function hmacStart(): void {
  sha256Resume(SHA_INNER, HMAC_ISTATE, 64);
}

export function hmacUpdate(ptr: usize, len: usize): void {
  sha256Update(SHA_INNER, ptr, len);
}

/** Writes the 32-byte MAC to out (out may be any 32 writable bytes, including scratch). */
export function hmacFinish(out: usize): void {
  sha256Final(SHA_INNER, SHA_INNER + 32); // inner digest into the context's own buffer area
  sha256Resume(SHA_OUTER, HMAC_OSTATE, 64);
  sha256Update(SHA_OUTER, SHA_INNER + 32, 32);
  sha256Final(SHA_OUTER, out);
}
