/**
 * The vecseal WebAssembly core: exports with a pointer ABI (see STYLE.md, "The WASM boundary").
 * Every export takes addresses and lengths in linear memory and returns an i32 status; none
 * allocates. Every export that touches key material clears the secret scratch region before it
 * returns, so no key, keystream, hash state or MAC key outlives the call inside the module.
 * The caller (src/core/) owns the working region from heapBase() up and wipes it after each batch.
 */
import { aesEncrypt8, aesExpandKey } from './aes';
import { openMany, sealMany } from './batch';
import { gcmAad, gcmDecrypt, gcmEncrypt, gcmFinish, gcmReset, gcmStart, gcmVerify } from './gcm';
import { hkdfExpand, hkdfExpandMany } from './hkdf';
import { hmacFinish, hmacSetKey, hmacStart, hmacUpdate } from './hmac';
import { layoutFits, SHA_INNER, wipeSecrets } from './scratch';
import { sha256Final, sha256Init, sha256Update } from './sha256';

/** First byte of linear memory that the module does not use itself. */
export function heapBase(): usize {
  return (__heap_base + 63) & ~(<usize>63);
}

/** Clears all key material and state held by the module. */
export function wipe(): void {
  wipeSecrets();
  gcmReset();
}

/** 1 if the static layout fits its reserved region (checked by the loader once). */
export function selfCheck(): i32 {
  return layoutFits() ? 1 : 0;
}

/**
 * AES block encryption (ECB) of `blocks` blocks, for tests of the cipher alone.
 * blocks must be a multiple of 8 (the bitsliced width). -1: bad key length, -2: bad block count.
 */
export function aesEcbEncrypt(keyPtr: usize, keyLen: i32, src: usize, dst: usize, blocks: usize): i32 {
  if ((blocks & 7) != 0) return -2;
  if (aesExpandKey(keyPtr, keyLen) == 0) return -1;
  for (let i: usize = 0; i < blocks; i += 8) aesEncrypt8(src + (i << 4), dst + (i << 4));
  wipe();
  return 0;
}

// ---- One-shot and incremental AES-GCM ----

/** Starts an incremental GCM message (keyLen 16 or 32, iv 12 bytes). -1: bad key length. */
export function gcmBegin(keyPtr: usize, keyLen: i32, ivPtr: usize): i32 {
  const r = gcmStart(keyPtr, keyLen, ivPtr, true);
  if (r != 0) wipe();
  return r;
}
export function gcmAddAad(ptr: usize, len: usize): void {
  gcmAad(ptr, len);
}
export function gcmEncryptUpdate(src: usize, dst: usize, len: usize): void {
  gcmEncrypt(src, dst, len);
}
export function gcmDecryptUpdate(src: usize, dst: usize, len: usize): void {
  gcmDecrypt(src, dst, len);
}
/** Writes the tag and ends the message (wipes state). */
export function gcmEndEncrypt(tagPtr: usize): void {
  gcmFinish(tagPtr);
  wipe();
}
/** Checks the tag in constant time and ends the message (wipes state). 1 = authentic. */
export function gcmEndDecrypt(tagPtr: usize): i32 {
  const ok = gcmVerify(tagPtr);
  wipe();
  return ok;
}
// ---- Batches ----

export function sealBatch(descPtr: usize, count: usize, keyLen: i32): i32 {
  const r = sealMany(descPtr, count, keyLen);
  wipe();
  return r;
}

export function openBatch(descPtr: usize, count: usize, keyLen: i32, statusPtr: usize): i32 {
  const r = openMany(descPtr, count, keyLen, statusPtr);
  wipe();
  return r;
}

// ---- Hashes and KDF ----

/** Incremental SHA-256 (for messages larger than the working region). */
export function sha256Begin(): void {
  sha256Init(SHA_INNER);
}
export function sha256Absorb(ptr: usize, len: usize): void {
  sha256Update(SHA_INNER, ptr, len);
}
export function sha256End(out: usize): void {
  sha256Final(SHA_INNER, out);
  wipe();
}

/** Incremental HMAC-SHA256 (for messages larger than the working region). */
export function hmacBegin(keyPtr: usize, keyLen: usize): void {
  hmacSetKey(keyPtr, keyLen);
  hmacStart();
}
export function hmacAbsorb(ptr: usize, len: usize): void {
  hmacUpdate(ptr, len);
}
export function hmacEnd(out: usize): void {
  hmacFinish(out);
  wipe();
}

export function hkdfSha256Expand(prkPtr: usize, prkLen: usize, infoPtr: usize, infoLen: usize, out: usize, outLen: usize): void {
  hkdfExpand(prkPtr, prkLen, infoPtr, infoLen, out, outLen);
  wipe();
}

export function hkdfSha256ExpandBatch(prkPtr: usize, prkLen: usize, descPtr: usize, count: usize, outLen: usize, out: usize): void {
  hkdfExpandMany(prkPtr, prkLen, descPtr, count, outLen, out);
  wipe();
}
