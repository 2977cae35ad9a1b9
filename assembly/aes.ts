/**
 * AES-128 and AES-256 encryption (FIPS 197), bitsliced across eight blocks with WebAssembly SIMD.
 *
 * Why it is constant-time: there is no S-box table. Eight 16-byte blocks are transposed into eight
 * v128 "bit planes" (plane j, byte k, bit b = bit j of byte k of block b; the Käsper–Schwabe layout),
 * and SubBytes is evaluated as a fixed Boolean circuit of 32 ANDs and 83 XOR/XNORs on those planes
 * (Boyar and Peralta, "A new combinational logic minimization technique with applications to
 * cryptology", eprint 2009/191). ShiftRows and the column rotations of MixColumns are byte shuffles
 * with compile-time lane constants. The key schedule runs its SubWord through the same circuit. No
 * memory address and no branch depends on a key or data bit; the only branches are on the round
 * number and the key length, which are public.
 */
import { AES_TMP, RK_BYTES, RK_PLANES } from './scratch';

/** Number of rounds of the expanded key currently installed (10 or 14), 0 if none. */
export let aesRounds: i32 = 0;

const RCON: usize = memory.data<u8>([0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x1b, 0x36]);

/** Plane j of a vector whose bytes are broadcast bits: byte k = 0xff if bit j of v[k] is set. */
// @ts-ignore: decorator
@inline
function bitPlane(v: v128, bit: i32): v128 {
  const m = i8x16.splat(<i8>(<i32>1 << bit));
  return i8x16.eq(v128.and(v, m), m);
}

/** Two all-zero round keys in plane form, for SubWord below. */
const ZERO_ROUND_KEYS: usize = memory.data(2 * 128, 16);

/**
 * SubWord (FIPS 197 5.2) through the same S-box circuit: a block whose four columns all equal w is
 * unchanged by ShiftRows, so a one-round "AES" with zero round keys (the final-round shape, without
 * MixColumns) returns SubBytes of it.
 */
function subWord(w: u32): u32 {
  v128.store(AES_TMP, i32x4.splat(w));
  aesEncrypt8With(AES_TMP, AES_TMP, ZERO_ROUND_KEYS, 1);
  const r = load<u32>(AES_TMP);
  memory.fill(AES_TMP, 0, 128);
  return r;
}

/**
 * Expands a 16- or 32-byte key (FIPS 197 section 5.2) and stores the round keys as broadcast bit
 * planes in RK_PLANES. Returns the number of rounds, or 0 for an unsupported key length.
 */
export function aesExpandKey(keyPtr: usize, keyLen: i32): i32 {
  let nk: i32;
  let nr: i32;
  if (keyLen == 16) {
    nk = 4;
    nr = 10;
  } else if (keyLen == 32) {
    nk = 8;
    nr = 14;
  } else {
    aesRounds = 0;
    return 0;
  }
  const words = (nr + 1) * 4;
  memory.copy(RK_BYTES, keyPtr, <usize>keyLen);
  let prev = load<u32>(RK_BYTES + <usize>((nk - 1) * 4));
  for (let i = nk; i < words; i++) {
    const phase = i % nk;
    if (phase == 0) {
      // RotWord: little-endian load, so rotating right by 8 moves byte 1 into byte 0.
      const rotated = rotr<u32>(prev, 8);
      const sub = subWord(rotated);
      prev = sub ^ <u32>load<u8>(RCON + <usize>(i / nk - 1));
    } else if (nk > 6 && phase == 4) {
      prev = subWord(prev);
    }
    prev ^= load<u32>(RK_BYTES + <usize>((i - nk) * 4));
    store<u32>(RK_BYTES + <usize>(i * 4), prev);
  }
  for (let r = 0; r <= nr; r++) {
    const rk = v128.load(RK_BYTES + <usize>(r * 16));
    const out = RK_PLANES + <usize>(r * 128);
    for (let j = 0; j < 8; j++) {
      v128.store(out + <usize>(j * 16), bitPlane(rk, j));
    }
  }
  // The byte-order schedule is no longer needed; do not leave it lying around.
  memory.fill(RK_BYTES, 0, <usize>(words * 4));
  aesRounds = nr;
  return nr;
}

// ShiftRows moves state byte (row r, column c), stored at 4c+r, from column c+r (mod 4).
// The two lane lists below are ShiftRows, and "rotate each column up by one row" after ShiftRows.

/**
 * Transposes eight 16-byte blocks at src into eight bit planes at dst (or back: the operation is its
 * own inverse). Three rounds of swap-moves perform an 8x8 bit-matrix transpose for every byte
 * position at once: afterwards vector j holds bit j of that byte of blocks 0..7 in bits 0..7.
 */
function transposeBlocks(src: usize, dst: usize): void {
  let a0 = v128.load(src, 0);
  let a1 = v128.load(src, 16);
  let a2 = v128.load(src, 32);
  let a3 = v128.load(src, 48);
  let a4 = v128.load(src, 64);
  let a5 = v128.load(src, 80);
  let a6 = v128.load(src, 96);
  let a7 = v128.load(src, 112);
  let t: v128;
  const m1 = i8x16.splat(0x55);
  const m2 = i8x16.splat(0x33);
  const m4 = i8x16.splat(0x0f);
  t = v128.and(v128.xor(i64x2.shr_u(a0, 1), a1), m1); a1 = v128.xor(a1, t); a0 = v128.xor(a0, i64x2.shl(t, 1));
  t = v128.and(v128.xor(i64x2.shr_u(a2, 1), a3), m1); a3 = v128.xor(a3, t); a2 = v128.xor(a2, i64x2.shl(t, 1));
  t = v128.and(v128.xor(i64x2.shr_u(a4, 1), a5), m1); a5 = v128.xor(a5, t); a4 = v128.xor(a4, i64x2.shl(t, 1));
  t = v128.and(v128.xor(i64x2.shr_u(a6, 1), a7), m1); a7 = v128.xor(a7, t); a6 = v128.xor(a6, i64x2.shl(t, 1));
  t = v128.and(v128.xor(i64x2.shr_u(a0, 2), a2), m2); a2 = v128.xor(a2, t); a0 = v128.xor(a0, i64x2.shl(t, 2));
  t = v128.and(v128.xor(i64x2.shr_u(a1, 2), a3), m2); a3 = v128.xor(a3, t); a1 = v128.xor(a1, i64x2.shl(t, 2));
  t = v128.and(v128.xor(i64x2.shr_u(a4, 2), a6), m2); a6 = v128.xor(a6, t); a4 = v128.xor(a4, i64x2.shl(t, 2));
  t = v128.and(v128.xor(i64x2.shr_u(a5, 2), a7), m2); a7 = v128.xor(a7, t); a5 = v128.xor(a5, i64x2.shl(t, 2));
  t = v128.and(v128.xor(i64x2.shr_u(a0, 4), a4), m4); a4 = v128.xor(a4, t); a0 = v128.xor(a0, i64x2.shl(t, 4));
  t = v128.and(v128.xor(i64x2.shr_u(a1, 4), a5), m4); a5 = v128.xor(a5, t); a1 = v128.xor(a1, i64x2.shl(t, 4));
  t = v128.and(v128.xor(i64x2.shr_u(a2, 4), a6), m4); a6 = v128.xor(a6, t); a2 = v128.xor(a2, i64x2.shl(t, 4));
  t = v128.and(v128.xor(i64x2.shr_u(a3, 4), a7), m4); a7 = v128.xor(a7, t); a3 = v128.xor(a3, i64x2.shl(t, 4));
  v128.store(dst, a0, 0);
  v128.store(dst, a1, 16);
  v128.store(dst, a2, 32);
  v128.store(dst, a3, 48);
  v128.store(dst, a4, 64);
  v128.store(dst, a5, 80);
  v128.store(dst, a6, 96);
  v128.store(dst, a7, 112);
}

/**
 * Encrypts the eight blocks at src (128 bytes) to dst with the installed round keys. src and dst may
 * be equal. Caller guarantees a key is installed.
 */
export function aesEncrypt8(src: usize, dst: usize): void {
  aesEncrypt8With(src, dst, RK_PLANES, aesRounds);
}

/** Encrypts eight blocks with `rounds` rounds of the plane-form round keys at rk. */
function aesEncrypt8With(src: usize, dst: usize, rk: usize, rounds: i32): void {
  // Bit planes: a_j holds bit j of every byte of every block (see transposeBlocks).
  transposeBlocks(src, dst);
  let a0 = v128.load(dst, 0);
  let a1 = v128.load(dst, 16);
  let a2 = v128.load(dst, 32);
  let a3 = v128.load(dst, 48);
  let a4 = v128.load(dst, 64);
  let a5 = v128.load(dst, 80);
  let a6 = v128.load(dst, 96);
  let a7 = v128.load(dst, 112);

  // Round 0: AddRoundKey.
  a0 = v128.xor(a0, v128.load(rk, 0));
  a1 = v128.xor(a1, v128.load(rk, 16));
  a2 = v128.xor(a2, v128.load(rk, 32));
  a3 = v128.xor(a3, v128.load(rk, 48));
  a4 = v128.xor(a4, v128.load(rk, 64));
  a5 = v128.xor(a5, v128.load(rk, 80));
  a6 = v128.xor(a6, v128.load(rk, 96));
  a7 = v128.xor(a7, v128.load(rk, 112));

  const nr = rounds;
  for (let r = 1; r <= nr; r++) {
    // SubBytes: the Boyar-Peralta circuit; x0 is bit 7 (plane a7), x7 is bit 0 (plane a0).
    const x0 = a7, x1 = a6, x2 = a5, x3 = a4, x4 = a3, x5 = a2, x6 = a1, x7 = a0;
    // Top linear layer: 22 XORs give the 22 inputs of the nonlinear layer.
    const y14 = v128.xor(x3, x5);
    const y13 = v128.xor(x0, x6);
    const y9 = v128.xor(x0, x3);
    const y8 = v128.xor(x0, x5);
    const u0 = v128.xor(x1, x2);
    const y1 = v128.xor(u0, x7);
    const y4 = v128.xor(y1, x3);
    const y12 = v128.xor(y13, y14);
    const y2 = v128.xor(y1, x0);
    const y5 = v128.xor(y1, x6);
    const y3 = v128.xor(y5, y8);
    const u1 = v128.xor(x4, y12);
    const y15 = v128.xor(u1, x5);
    const y20 = v128.xor(u1, x1);
    const y6 = v128.xor(y15, x7);
    const y10 = v128.xor(y15, u0);
    const y11 = v128.xor(y20, y9);
    const y7 = v128.xor(x7, y11);
    const y17 = v128.xor(y10, y11);
    const y19 = v128.xor(y10, y8);
    const y16 = v128.xor(u0, y11);
    const y21 = v128.xor(y13, y16);
    const y18 = v128.xor(x0, y16);

    // Shared nonlinear middle: inversion in GF(2^4)^2.
    const m2 = v128.and(y12, y15);
    const m3 = v128.and(y3, y6);
    const m4 = v128.xor(m3, m2);
    const m5 = v128.and(y4, x7);
    const m6 = v128.xor(m5, m2);
    const m7 = v128.and(y13, y16);
    const m8 = v128.and(y5, y1);
    const m9 = v128.xor(m8, m7);
    const m10 = v128.and(y2, y7);
    const m11 = v128.xor(m10, m7);
    const m12 = v128.and(y9, y11);
    const m13 = v128.and(y14, y17);
    const m14 = v128.xor(m13, m12);
    const m15 = v128.and(y8, y10);
    const m16 = v128.xor(m15, m12);
    const m17 = v128.xor(m4, m14);
    const m18 = v128.xor(m6, m16);
    const m19 = v128.xor(m9, m14);
    const m20 = v128.xor(m11, m16);
    const m21 = v128.xor(m17, y20);
    const m22 = v128.xor(m18, y19);
    const m23 = v128.xor(m19, y21);
    const m24 = v128.xor(m20, y18);

    const m25 = v128.xor(m21, m22);
    const m26 = v128.and(m21, m23);
    const m27 = v128.xor(m24, m26);
    const m28 = v128.and(m25, m27);
    const m29 = v128.xor(m28, m22);
    const m30 = v128.xor(m23, m24);
    const m31 = v128.xor(m22, m26);
    const m32 = v128.and(m31, m30);
    const m33 = v128.xor(m32, m24);
    const m34 = v128.xor(m23, m33);
    const m35 = v128.xor(m27, m33);
    const m36 = v128.and(m24, m35);
    const m37 = v128.xor(m36, m34);
    const m38 = v128.xor(m27, m36);
    const m39 = v128.and(m29, m38);
    const m40 = v128.xor(m25, m39);

    const m41 = v128.xor(m40, m37);
    const m42 = v128.xor(m29, m33);
    const m43 = v128.xor(m29, m40);
    const m44 = v128.xor(m33, m37);
    const m45 = v128.xor(m42, m41);
    const z0 = v128.and(m44, y15);
    const z1 = v128.and(m37, y6);
    const z2 = v128.and(m33, x7);
    const z3 = v128.and(m43, y16);
    const z4 = v128.and(m40, y1);
    const z5 = v128.and(m29, y7);
    const z6 = v128.and(m42, y11);
    const z7 = v128.and(m45, y17);
    const z8 = v128.and(m41, y10);
    const z9 = v128.and(m44, y12);
    const z10 = v128.and(m37, y3);
    const z11 = v128.and(m33, y4);
    const z12 = v128.and(m43, y13);
    const z13 = v128.and(m40, y5);
    const z14 = v128.and(m29, y2);
    const z15 = v128.and(m42, y9);
    const z16 = v128.and(m45, y14);
    const z17 = v128.and(m41, y8);

    // Bottom linear layer (the affine constant 0x63 appears as the four XNORs).
    const b46 = v128.xor(z15, z16);
    const b47 = v128.xor(z10, z11);
    const b48 = v128.xor(z5, z13);
    const b49 = v128.xor(z9, z10);
    const b50 = v128.xor(z2, z12);
    const b51 = v128.xor(z2, z5);
    const b52 = v128.xor(z7, z8);
    const b53 = v128.xor(z0, z3);
    const b54 = v128.xor(z6, z7);
    const b55 = v128.xor(z16, z17);
    const b56 = v128.xor(z12, b48);
    const b57 = v128.xor(b50, b53);
    const b58 = v128.xor(z4, b46);
    const b59 = v128.xor(z3, b54);
    const b60 = v128.xor(b46, b57);
    const b61 = v128.xor(z14, b57);
    const b62 = v128.xor(b52, b58);
    const b63 = v128.xor(b49, b58);
    const b64 = v128.xor(z4, b59);
    const b65 = v128.xor(b61, b62);
    const b66 = v128.xor(z1, b63);
    const p7 = v128.xor(b59, b63);
    const p1 = v128.not(v128.xor(b56, b62));
    const p0 = v128.not(v128.xor(b48, b60));
    const b67 = v128.xor(b64, b65);
    const p4 = v128.xor(b53, b66);
    const p3 = v128.xor(b51, b66);
    const p2 = v128.xor(b47, b65);
    const p6 = v128.not(v128.xor(b64, p4));
    const p5 = v128.not(v128.xor(b55, b67));
    if (r < nr) {
      // ShiftRows then MixColumns. With a = ShiftRows(s) and rot1 rotating each column by a row:
      // out = xtime(a ^ rot1 a) ^ rot1 a ^ rot2(a ^ rot1 a).
      const q0 = i8x16.shuffle(p0, p0, 5, 10, 15, 0, 9, 14, 3, 4, 13, 2, 7, 8, 1, 6, 11, 12);
      const q1 = i8x16.shuffle(p1, p1, 5, 10, 15, 0, 9, 14, 3, 4, 13, 2, 7, 8, 1, 6, 11, 12);
      const q2 = i8x16.shuffle(p2, p2, 5, 10, 15, 0, 9, 14, 3, 4, 13, 2, 7, 8, 1, 6, 11, 12);
      const q3 = i8x16.shuffle(p3, p3, 5, 10, 15, 0, 9, 14, 3, 4, 13, 2, 7, 8, 1, 6, 11, 12);
      const q4 = i8x16.shuffle(p4, p4, 5, 10, 15, 0, 9, 14, 3, 4, 13, 2, 7, 8, 1, 6, 11, 12);
      const q5 = i8x16.shuffle(p5, p5, 5, 10, 15, 0, 9, 14, 3, 4, 13, 2, 7, 8, 1, 6, 11, 12);
      const q6 = i8x16.shuffle(p6, p6, 5, 10, 15, 0, 9, 14, 3, 4, 13, 2, 7, 8, 1, 6, 11, 12);
      const q7 = i8x16.shuffle(p7, p7, 5, 10, 15, 0, 9, 14, 3, 4, 13, 2, 7, 8, 1, 6, 11, 12);
      const t0 = v128.xor(i8x16.shuffle(p0, p0, 0, 5, 10, 15, 4, 9, 14, 3, 8, 13, 2, 7, 12, 1, 6, 11), q0);
      const t1 = v128.xor(i8x16.shuffle(p1, p1, 0, 5, 10, 15, 4, 9, 14, 3, 8, 13, 2, 7, 12, 1, 6, 11), q1);
      const t2 = v128.xor(i8x16.shuffle(p2, p2, 0, 5, 10, 15, 4, 9, 14, 3, 8, 13, 2, 7, 12, 1, 6, 11), q2);
      const t3 = v128.xor(i8x16.shuffle(p3, p3, 0, 5, 10, 15, 4, 9, 14, 3, 8, 13, 2, 7, 12, 1, 6, 11), q3);
      const t4 = v128.xor(i8x16.shuffle(p4, p4, 0, 5, 10, 15, 4, 9, 14, 3, 8, 13, 2, 7, 12, 1, 6, 11), q4);
      const t5 = v128.xor(i8x16.shuffle(p5, p5, 0, 5, 10, 15, 4, 9, 14, 3, 8, 13, 2, 7, 12, 1, 6, 11), q5);
      const t6 = v128.xor(i8x16.shuffle(p6, p6, 0, 5, 10, 15, 4, 9, 14, 3, 8, 13, 2, 7, 12, 1, 6, 11), q6);
      const t7 = v128.xor(i8x16.shuffle(p7, p7, 0, 5, 10, 15, 4, 9, 14, 3, 8, 13, 2, 7, 12, 1, 6, 11), q7);
      // xtime on planes: bit j takes bit j-1; bit 7 folds back into bits 0, 1, 3 and 4 (0x11b).
      a0 = v128.xor(v128.xor(t7, q0), i8x16.shuffle(t0, t0, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13));
      a1 = v128.xor(v128.xor(v128.xor(t0, t7), q1), i8x16.shuffle(t1, t1, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13));
      a2 = v128.xor(v128.xor(t1, q2), i8x16.shuffle(t2, t2, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13));
      a3 = v128.xor(v128.xor(v128.xor(t2, t7), q3), i8x16.shuffle(t3, t3, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13));
      a4 = v128.xor(v128.xor(v128.xor(t3, t7), q4), i8x16.shuffle(t4, t4, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13));
      a5 = v128.xor(v128.xor(t4, q5), i8x16.shuffle(t5, t5, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13));
      a6 = v128.xor(v128.xor(t5, q6), i8x16.shuffle(t6, t6, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13));
      a7 = v128.xor(v128.xor(t6, q7), i8x16.shuffle(t7, t7, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13));
    } else {
      // Final round: ShiftRows only.
      a0 = i8x16.shuffle(p0, p0, 0, 5, 10, 15, 4, 9, 14, 3, 8, 13, 2, 7, 12, 1, 6, 11);
      a1 = i8x16.shuffle(p1, p1, 0, 5, 10, 15, 4, 9, 14, 3, 8, 13, 2, 7, 12, 1, 6, 11);
      a2 = i8x16.shuffle(p2, p2, 0, 5, 10, 15, 4, 9, 14, 3, 8, 13, 2, 7, 12, 1, 6, 11);
      a3 = i8x16.shuffle(p3, p3, 0, 5, 10, 15, 4, 9, 14, 3, 8, 13, 2, 7, 12, 1, 6, 11);
      a4 = i8x16.shuffle(p4, p4, 0, 5, 10, 15, 4, 9, 14, 3, 8, 13, 2, 7, 12, 1, 6, 11);
      a5 = i8x16.shuffle(p5, p5, 0, 5, 10, 15, 4, 9, 14, 3, 8, 13, 2, 7, 12, 1, 6, 11);
      a6 = i8x16.shuffle(p6, p6, 0, 5, 10, 15, 4, 9, 14, 3, 8, 13, 2, 7, 12, 1, 6, 11);
      a7 = i8x16.shuffle(p7, p7, 0, 5, 10, 15, 4, 9, 14, 3, 8, 13, 2, 7, 12, 1, 6, 11);
    }
    const k = rk + <usize>(r * 128);
    a0 = v128.xor(a0, v128.load(k, 0));
    a1 = v128.xor(a1, v128.load(k, 16));
    a2 = v128.xor(a2, v128.load(k, 32));
    a3 = v128.xor(a3, v128.load(k, 48));
    a4 = v128.xor(a4, v128.load(k, 64));
    a5 = v128.xor(a5, v128.load(k, 80));
    a6 = v128.xor(a6, v128.load(k, 96));
    a7 = v128.xor(a7, v128.load(k, 112));
  }

  v128.store(dst, a0, 0);
  v128.store(dst, a1, 16);
  v128.store(dst, a2, 32);
  v128.store(dst, a3, 48);
  v128.store(dst, a4, 64);
  v128.store(dst, a5, 80);
  v128.store(dst, a6, 96);
  v128.store(dst, a7, 112);
  // The transpose is its own inverse: the same swap-moves turn planes back into blocks.
  transposeBlocks(dst, dst);
}
