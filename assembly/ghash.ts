/**
 * GHASH (NIST SP 800-38D, section 6.4): multiplication by H in GF(2^128).
 *
 * Why it is constant-time: WebAssembly has no carry-less multiply, so products are computed with
 * ordinary 64-bit integer multiplies on operands "with holes" (only every fourth bit kept), so that
 * the carries of each partial sum land in bits that are masked away afterwards (T. Pornin, BearSSL
 * ghash_ctmul64). No table is indexed by H or by data, and there is no data-dependent branch; integer
 * multiplication is constant-time on the 64-bit CPUs that run browsers (x86-64 and AArch64).
 *
 * Bit order: a 16-byte block read big-endian is the bit-reflected polynomial, so the integer product
 * of two blocks is the reflected polynomial product shifted by one bit; the shift and the reduction
 * modulo x^128 + x^7 + x^2 + x + 1 are applied in reflected form.
 */
import { BLOCK_TMP, GHASH_KEY } from './scratch';

const M0: u64 = 0x1111111111111111;
const M1: u64 = 0x2222222222222222;
const M2: u64 = 0x4444444444444444;
const M3: u64 = 0x8888888888888888;

/** The running GHASH value (big-endian halves: hi holds bytes 0..7). */
export let ghashHi: u64 = 0;
export let ghashLo: u64 = 0;

/** Reverses the bit order of a 64-bit word. */
// @ts-ignore: decorator
@inline
function rev64(x: u64): u64 {
  x = ((x >> 1) & 0x5555555555555555) | ((x & 0x5555555555555555) << 1);
  x = ((x >> 2) & 0x3333333333333333) | ((x & 0x3333333333333333) << 2);
  x = ((x >> 4) & 0x0f0f0f0f0f0f0f0f) | ((x & 0x0f0f0f0f0f0f0f0f) << 4);
  return bswap<u64>(x);
}

/**
 * Low 64 bits of the carry-less product x * y, where y is given pre-split into its four "hole"
 * classes (y & M0 .. y & M3). Each partial product sums at most 16 one-bit terms per position, so
 * with four-bit spacing no carry reaches the next bit of the same class (except past bit 63).
 */
// @ts-ignore: decorator
@inline
function clmulLow(x: u64, y0: u64, y1: u64, y2: u64, y3: u64): u64 {
  const x0 = x & M0;
  const x1 = x & M1;
  const x2 = x & M2;
  const x3 = x & M3;
  const z0 = (x0 * y0) ^ (x1 * y3) ^ (x2 * y2) ^ (x3 * y1);
  const z1 = (x0 * y1) ^ (x1 * y0) ^ (x2 * y3) ^ (x3 * y2);
  const z2 = (x0 * y2) ^ (x1 * y1) ^ (x2 * y0) ^ (x3 * y3);
  const z3 = (x0 * y3) ^ (x1 * y2) ^ (x2 * y1) ^ (x3 * y0);
  return (z0 & M0) | (z1 & M1) | (z2 & M2) | (z3 & M3);
}

// @ts-ignore: decorator
@inline
function storeSplit(at: usize, y: u64): void {
  store<u64>(at, y & M0, 0);
  store<u64>(at, y & M1, 8);
  store<u64>(at, y & M2, 16);
  store<u64>(at, y & M3, 24);
}

/**
 * Installs H (16 bytes at hPtr) and resets the running value. Six 64-bit operands derived from H
 * (its halves, their XOR for Karatsuba, and the bit reversals of the three) are stored pre-split.
 */
export function ghashInit(hPtr: usize): void {
  const h1 = bswap<u64>(load<u64>(hPtr, 0));
  const h0 = bswap<u64>(load<u64>(hPtr, 8));
  const h1r = rev64(h1);
  const h0r = rev64(h0);
  storeSplit(GHASH_KEY, h0);
  storeSplit(GHASH_KEY + 32, h1);
  storeSplit(GHASH_KEY + 64, h0 ^ h1);
  storeSplit(GHASH_KEY + 96, h0r);
  storeSplit(GHASH_KEY + 128, h1r);
  storeSplit(GHASH_KEY + 160, h0r ^ h1r);
  ghashHi = 0;
  ghashLo = 0;
}

// Bit reversal within bytes through two 16-entry nibble tables held in registers (i8x16.swizzle,
// the pshufb technique of vpaes): a permutation of register lanes, not a memory lookup, so its
// timing does not depend on the data.
// @ts-ignore: decorator
@inline
function reverseBitsInBytes(v: v128): v128 {
  const loToHi = i8x16(0x00, <i8>0x80, 0x40, <i8>0xc0, 0x20, <i8>0xa0, 0x60, <i8>0xe0, 0x10, <i8>0x90, 0x50, <i8>0xd0, 0x30, <i8>0xb0, 0x70, <i8>0xf0);
  const hiToLo = i8x16(0x00, 0x08, 0x04, 0x0c, 0x02, 0x0a, 0x06, 0x0e, 0x01, 0x09, 0x05, 0x0d, 0x03, 0x0b, 0x07, 0x0f);
  const lo = v128.and(v, i8x16.splat(0x0f));
  const hi = i8x16.shr_u(v, 4);
  return v128.or(i8x16.swizzle(loToHi, lo), i8x16.swizzle(hiToLo, hi));
}

/** Reverses the bytes of each 64-bit lane. */
// @ts-ignore: decorator
@inline
function swapBytes64x2(v: v128): v128 {
  return i8x16.shuffle(v, v, 7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8);
}

/** Absorbs `blocks` full 16-byte blocks starting at ptr. */
export function ghashBlocks(ptr: usize, blocks: usize): void {
  const h00 = load<u64>(GHASH_KEY, 0), h01 = load<u64>(GHASH_KEY, 8), h02 = load<u64>(GHASH_KEY, 16), h03 = load<u64>(GHASH_KEY, 24);
  const h10 = load<u64>(GHASH_KEY, 32), h11 = load<u64>(GHASH_KEY, 40), h12 = load<u64>(GHASH_KEY, 48), h13 = load<u64>(GHASH_KEY, 56);
  const h20 = load<u64>(GHASH_KEY, 64), h21 = load<u64>(GHASH_KEY, 72), h22 = load<u64>(GHASH_KEY, 80), h23 = load<u64>(GHASH_KEY, 88);
  const r00 = load<u64>(GHASH_KEY, 96), r01 = load<u64>(GHASH_KEY, 104), r02 = load<u64>(GHASH_KEY, 112), r03 = load<u64>(GHASH_KEY, 120);
  const r10 = load<u64>(GHASH_KEY, 128), r11 = load<u64>(GHASH_KEY, 136), r12 = load<u64>(GHASH_KEY, 144), r13 = load<u64>(GHASH_KEY, 152);
  const r20 = load<u64>(GHASH_KEY, 160), r21 = load<u64>(GHASH_KEY, 168), r22 = load<u64>(GHASH_KEY, 176), r23 = load<u64>(GHASH_KEY, 184);
  // The running value in memory byte order: lane 0 holds bytes 0..7 (the high half), lane 1 8..15.
  let acc = swapBytes64x2(i64x2(<i64>ghashHi, <i64>ghashLo));
  const end = ptr + (blocks << 4);
  while (ptr < end) {
    const x = v128.xor(acc, v128.load(ptr));
    // Big-endian halves, and their bit reversals (bit-reversing a big-endian load is the same as
    // reversing the bits of each byte of a little-endian load).
    const be = swapBytes64x2(x);
    const rv = reverseBitsInBytes(x);
    const y1 = <u64>i64x2.extract_lane(be, 0);
    const y0 = <u64>i64x2.extract_lane(be, 1);
    const y1r = <u64>i64x2.extract_lane(rv, 0);
    const y0r = <u64>i64x2.extract_lane(rv, 1);
    const y2 = y0 ^ y1;
    const y2r = y0r ^ y1r;

    // Karatsuba: three 64x64 products, each as its low half and (via bit reversal) its high half.
    const z0 = clmulLow(y0, h00, h01, h02, h03);
    const z1 = clmulLow(y1, h10, h11, h12, h13);
    let z2 = clmulLow(y2, h20, h21, h22, h23);
    let z0h = clmulLow(y0r, r00, r01, r02, r03);
    let z1h = clmulLow(y1r, r10, r11, r12, r13);
    let z2h = clmulLow(y2r, r20, r21, r22, r23);
    z2 ^= z0 ^ z1;
    z2h ^= z0h ^ z1h;
    // Reverse the three high halves back, two lanes at a time.
    const hh = swapBytes64x2(reverseBitsInBytes(i64x2(<i64>z0h, <i64>z1h)));
    z0h = <u64>i64x2.extract_lane(hh, 0) >> 1;
    z1h = <u64>i64x2.extract_lane(hh, 1) >> 1;
    z2h = <u64>i64x2.extract_lane(swapBytes64x2(reverseBitsInBytes(i64x2.splat(<i64>z2h))), 0) >> 1;

    let v0 = z0;
    let v1 = z0h ^ z2;
    let v2 = z1 ^ z2h;
    let v3 = z1h;

    // Reflected product: shift left by one bit.
    v3 = (v3 << 1) | (v2 >> 63);
    v2 = (v2 << 1) | (v1 >> 63);
    v1 = (v1 << 1) | (v0 >> 63);
    v0 = v0 << 1;

    // Reduce modulo x^128 + x^7 + x^2 + x + 1 (reflected).
    v2 ^= v0 ^ (v0 >> 1) ^ (v0 >> 2) ^ (v0 >> 7);
    v1 ^= (v0 << 63) ^ (v0 << 62) ^ (v0 << 57);
    v3 ^= v1 ^ (v1 >> 1) ^ (v1 >> 2) ^ (v1 >> 7);
    v2 ^= (v1 << 63) ^ (v1 << 62) ^ (v1 << 57);

    acc = swapBytes64x2(i64x2(<i64>v3, <i64>v2));
    ptr += 16;
  }
  const out = swapBytes64x2(acc);
  ghashHi = <u64>i64x2.extract_lane(out, 0);
  ghashLo = <u64>i64x2.extract_lane(out, 1);
}

/** Absorbs len bytes, zero-padding a trailing partial block (as GCM does for AAD and ciphertext). */
export function ghashPadded(ptr: usize, len: usize): void {
  const full = len >> 4;
  if (full > 0) ghashBlocks(ptr, full);
  const rest = len & 15;
  if (rest != 0) {
    v128.store(BLOCK_TMP, i64x2.splat(0));
    memory.copy(BLOCK_TMP, ptr + (full << 4), rest);
    ghashBlocks(BLOCK_TMP, 1);
    v128.store(BLOCK_TMP, i64x2.splat(0));
  }
}

/** Writes the running value as 16 big-endian bytes. */
export function ghashOutput(out: usize): void {
  store<u64>(out, bswap<u64>(ghashHi), 0);
  store<u64>(out, bswap<u64>(ghashLo), 8);
}

export function ghashReset(): void {
  ghashHi = 0;
  ghashLo = 0;
}
