/**
 * AES-GCM (NIST SP 800-38D) with 96-bit IVs and 128-bit tags, as an incremental state machine so
 * records larger than the working memory can be processed in pieces.
 *
 * Why it is constant-time: it is built only from the bitsliced AES (aes.ts) and the hole-multiplying
 * GHASH (ghash.ts); the tag check ORs the XOR of all 16 byte pairs and looks at the result once.
 * Branches depend only on lengths, which are public.
 *
 * Protocol: gcmStart(key?) -> gcmAad* -> gcmEncrypt*|gcmDecrypt* -> gcmFinish / gcmVerify.
 * Every call but the last of gcmAad and of gcmEncrypt/gcmDecrypt must pass a multiple of 16 bytes.
 */
import { aesEncrypt8, aesExpandKey } from './aes';
import { ghashBlocks, ghashInit, ghashOutput, ghashPadded, ghashReset } from './ghash';
import { BLOCK_TMP, GCM_TAG_MASK, KEYSTREAM } from './scratch';

/** Bytes of keystream left unused at the end of KEYSTREAM (always a multiple of 16 mid-stream). */
let keystreamLeft: usize = 0;
/** Counter value of the next block of keystream to generate (inc32 of J0 = IV || 1). */
let nextCounter: u32 = 0;
/** IV bytes 0..11 in lanes 0..2 of a vector; lane 3 receives the big-endian counter. */
let ivVector: v128 = i64x2.splat(0);
let aadBytes: u64 = 0;
let textBytes: u64 = 0;

// @ts-ignore: decorator
@inline
function counterBlock(counter: u32): v128 {
  return i32x4.replace_lane(ivVector, 3, bswap<u32>(counter));
}

/** Encrypts the next eight counter blocks into KEYSTREAM. */
function refillKeystream(): void {
  const c = nextCounter;
  v128.store(KEYSTREAM, counterBlock(c), 0);
  v128.store(KEYSTREAM, counterBlock(c + 1), 16);
  v128.store(KEYSTREAM, counterBlock(c + 2), 32);
  v128.store(KEYSTREAM, counterBlock(c + 3), 48);
  v128.store(KEYSTREAM, counterBlock(c + 4), 64);
  v128.store(KEYSTREAM, counterBlock(c + 5), 80);
  v128.store(KEYSTREAM, counterBlock(c + 6), 96);
  v128.store(KEYSTREAM, counterBlock(c + 7), 112);
  aesEncrypt8(KEYSTREAM, KEYSTREAM);
  nextCounter = c + 8;
  keystreamLeft = 128;
}

/**
 * Starts a message. If keyLen is non-zero the key at keyPtr is expanded first; with keyLen 0 the
 * previously installed key is reused (its round keys are still in scratch). The first AES pass
 * computes H = E(K, 0), the tag mask E(K, J0) and six blocks of keystream together.
 * Returns 0, or -1 for an unsupported key length.
 */
export function gcmStart(keyPtr: usize, keyLen: i32, ivPtr: usize, rekey: bool): i32 {
  if (rekey && aesExpandKey(keyPtr, keyLen) == 0) return -1;
  ivVector = i32x4.replace_lane(v128.load(ivPtr), 3, 0);
  v128.store(KEYSTREAM, i64x2.splat(0), 0);
  v128.store(KEYSTREAM, counterBlock(1), 16);
  for (let i: u32 = 2; i < 8; i++) {
    v128.store(KEYSTREAM + (<usize>i << 4), counterBlock(i));
  }
  aesEncrypt8(KEYSTREAM, KEYSTREAM);
  if (rekey) {
    ghashInit(KEYSTREAM);
  } else {
    ghashReset();
  }
  v128.store(GCM_TAG_MASK, v128.load(KEYSTREAM, 16));
  // Blocks 0 and 1 are consumed; the keystream for counters 2..7 sits at offsets 32..127.
  keystreamLeft = 96;
  nextCounter = 8;
  aadBytes = 0;
  textBytes = 0;
  return 0;
}

/** Absorbs additional authenticated data. */
export function gcmAad(ptr: usize, len: usize): void {
  ghashPadded(ptr, len);
  aadBytes += <u64>len;
}

/** XORs len bytes of keystream into src, writing dst (which may equal src). */
function ctrXor(src: usize, dst: usize, len: usize): void {
  let done: usize = 0;
  // Use what the previous call (or gcmStart) left over.
  while (keystreamLeft > 0 && len - done >= 16) {
    const k = KEYSTREAM + 128 - keystreamLeft;
    v128.store(dst + done, v128.xor(v128.load(src + done), v128.load(k)));
    keystreamLeft -= 16;
    done += 16;
  }
  while (len - done >= 128) {
    refillKeystream();
    const s = src + done;
    const d = dst + done;
    v128.store(d, v128.xor(v128.load(s, 0), v128.load(KEYSTREAM, 0)), 0);
    v128.store(d, v128.xor(v128.load(s, 16), v128.load(KEYSTREAM, 16)), 16);
    v128.store(d, v128.xor(v128.load(s, 32), v128.load(KEYSTREAM, 32)), 32);
    v128.store(d, v128.xor(v128.load(s, 48), v128.load(KEYSTREAM, 48)), 48);
    v128.store(d, v128.xor(v128.load(s, 64), v128.load(KEYSTREAM, 64)), 64);
    v128.store(d, v128.xor(v128.load(s, 80), v128.load(KEYSTREAM, 80)), 80);
    v128.store(d, v128.xor(v128.load(s, 96), v128.load(KEYSTREAM, 96)), 96);
    v128.store(d, v128.xor(v128.load(s, 112), v128.load(KEYSTREAM, 112)), 112);
    keystreamLeft = 0;
    done += 128;
  }
  while (len - done > 0) {
    if (keystreamLeft == 0) refillKeystream();
    const k = KEYSTREAM + 128 - keystreamLeft;
    const n = len - done < 16 ? len - done : 16;
    if (n == 16) {
      v128.store(dst + done, v128.xor(v128.load(src + done), v128.load(k)));
    } else {
      for (let i: usize = 0; i < n; i++) {
        store<u8>(dst + done + i, load<u8>(src + done + i) ^ load<u8>(k + i));
      }
    }
    keystreamLeft -= 16;
    done += n;
  }
}

// Work in slices that stay in L1 between the CTR pass and the GHASH pass.
const SLICE: usize = 4096;

/** Encrypts len bytes from src to dst and absorbs the ciphertext. */
export function gcmEncrypt(src: usize, dst: usize, len: usize): void {
  let off: usize = 0;
  while (off < len) {
    const n = len - off < SLICE ? len - off : SLICE;
    ctrXor(src + off, dst + off, n);
    ghashPadded(dst + off, n);
    off += n;
  }
  textBytes += <u64>len;
}

/** Absorbs len bytes of ciphertext from src and decrypts them to dst. */
export function gcmDecrypt(src: usize, dst: usize, len: usize): void {
  let off: usize = 0;
  while (off < len) {
    const n = len - off < SLICE ? len - off : SLICE;
    ghashPadded(src + off, n);
    ctrXor(src + off, dst + off, n);
    off += n;
  }
  textBytes += <u64>len;
}

/** Absorbs the length block and returns the tag. */
function computeTag(): v128 {
  store<u64>(BLOCK_TMP, bswap<u64>(aadBytes << 3), 0);
  store<u64>(BLOCK_TMP, bswap<u64>(textBytes << 3), 8);
  ghashBlocks(BLOCK_TMP, 1);
  ghashOutput(BLOCK_TMP);
  const tag = v128.xor(v128.load(BLOCK_TMP), v128.load(GCM_TAG_MASK));
  v128.store(BLOCK_TMP, i64x2.splat(0));
  return tag;
}

/** Writes the 16-byte tag to tagPtr. */
export function gcmFinish(tagPtr: usize): void {
  v128.store(tagPtr, computeTag());
}

/** Computes the tag and compares it with the 16 bytes at expectedPtr in constant time: 1 if equal. */
export function gcmVerify(expectedPtr: usize): i32 {
  const diff = v128.xor(computeTag(), v128.load(expectedPtr));
  // Fold all 128 bits into one word without a data-dependent branch.
  const folded = <u64>(i64x2.extract_lane(diff, 0) | i64x2.extract_lane(diff, 1));
  const nonzero = <i32>((folded | (0 - folded)) >> 63);
  return 1 - nonzero;
}

/** Clears the incremental state kept outside the scratch region. */
export function gcmReset(): void {
  ivVector = i64x2.splat(0);
  keystreamLeft = 0;
  nextCounter = 0;
  aadBytes = 0;
  textBytes = 0;
  ghashReset();
}


