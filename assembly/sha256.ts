/**
 * SHA-256 (FIPS 180-4).
 *
 * Why it is constant-time: the compression function uses only 32-bit additions, rotations and
 * Boolean operations; the round-constant table is indexed by the round number, never by data.
 * The only branches depend on message length.
 *
 * A context is 112 bytes at a caller-chosen address: state (32) | buffered block (64) | buffered
 * length (u32 at 96) | total length in bytes (u64 at 104).
 */
import { SHA_W } from './scratch';

const K: usize = memory.data<u32>([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

const IV: usize = memory.data<u32>([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

export const SHA_CTX_BYTES: usize = 112;
const BUF: usize = 32;
const BUF_LEN: usize = 96;
const TOTAL: usize = 104;

/** Compresses one 64-byte block at blockPtr into the state at statePtr. */
export function sha256Compress(statePtr: usize, blockPtr: usize): void {
  for (let i: usize = 0; i < 16; i++) {
    store<u32>(SHA_W + (i << 2), bswap<u32>(load<u32>(blockPtr + (i << 2))));
  }
  for (let i: usize = 16; i < 64; i++) {
    const w15 = load<u32>(SHA_W + ((i - 15) << 2));
    const w2 = load<u32>(SHA_W + ((i - 2) << 2));
    const s0 = rotr<u32>(w15, 7) ^ rotr<u32>(w15, 18) ^ (w15 >> 3);
    const s1 = rotr<u32>(w2, 17) ^ rotr<u32>(w2, 19) ^ (w2 >> 10);
    store<u32>(SHA_W + (i << 2), load<u32>(SHA_W + ((i - 16) << 2)) + s0 + load<u32>(SHA_W + ((i - 7) << 2)) + s1);
  }
  let a = load<u32>(statePtr, 0);
  let b = load<u32>(statePtr, 4);
  let c = load<u32>(statePtr, 8);
  let d = load<u32>(statePtr, 12);
  let e = load<u32>(statePtr, 16);
  let f = load<u32>(statePtr, 20);
  let g = load<u32>(statePtr, 24);
  let h = load<u32>(statePtr, 28);
  for (let i: usize = 0; i < 64; i++) {
    const S1 = rotr<u32>(e, 6) ^ rotr<u32>(e, 11) ^ rotr<u32>(e, 25);
    const ch = (e & f) ^ (~e & g);
    const t1 = h + S1 + ch + load<u32>(K + (i << 2)) + load<u32>(SHA_W + (i << 2));
    const S0 = rotr<u32>(a, 2) ^ rotr<u32>(a, 13) ^ rotr<u32>(a, 22);
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = S0 + maj;
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  store<u32>(statePtr, load<u32>(statePtr, 0) + a, 0);
  store<u32>(statePtr, load<u32>(statePtr, 4) + b, 4);
  store<u32>(statePtr, load<u32>(statePtr, 8) + c, 8);
  store<u32>(statePtr, load<u32>(statePtr, 12) + d, 12);
  store<u32>(statePtr, load<u32>(statePtr, 16) + e, 16);
  store<u32>(statePtr, load<u32>(statePtr, 20) + f, 20);
  store<u32>(statePtr, load<u32>(statePtr, 24) + g, 24);
  store<u32>(statePtr, load<u32>(statePtr, 28) + h, 28);
}

/** Starts a fresh hash in the context at ctx. */
export function sha256Init(ctx: usize): void {
  memory.copy(ctx, IV, 32);
  store<u32>(ctx, 0, BUF_LEN);
  store<u64>(ctx, 0, TOTAL);
}

/**
 * Starts a hash from a saved mid-state (32 bytes at statePtr) that has already absorbed
 * `absorbed` bytes (a multiple of 64): how HMAC reuses its keyed inner and outer states.
 */
export function sha256Resume(ctx: usize, statePtr: usize, absorbed: u64): void {
  memory.copy(ctx, statePtr, 32);
  store<u32>(ctx, 0, BUF_LEN);
  store<u64>(ctx, absorbed, TOTAL);
}

export function sha256Update(ctx: usize, ptr: usize, len: usize): void {
  store<u64>(ctx, load<u64>(ctx, TOTAL) + <u64>len, TOTAL);
  let buffered = <usize>load<u32>(ctx, BUF_LEN);
  if (buffered > 0) {
    const room: usize = <usize>64 - buffered;
    const take = room < len ? room : len;
    memory.copy(ctx + BUF + buffered, ptr, take);
    buffered += take;
    ptr += take;
    len -= take;
    if (buffered < 64) {
      store<u32>(ctx, <u32>buffered, BUF_LEN);
      return;
    }
    sha256Compress(ctx, ctx + BUF);
    buffered = 0;
  }
  while (len >= 64) {
    sha256Compress(ctx, ptr);
    ptr += 64;
    len -= 64;
  }
  if (len > 0) memory.copy(ctx + BUF, ptr, len);
  store<u32>(ctx, <u32>len, BUF_LEN);
}

/** Pads, compresses and writes the 32-byte digest to out. */
export function sha256Final(ctx: usize, out: usize): void {
  const bits = load<u64>(ctx, TOTAL) << 3;
  let buffered = <usize>load<u32>(ctx, BUF_LEN);
  store<u8>(ctx + BUF + buffered, 0x80);
  buffered++;
  if (buffered > 56) {
    memory.fill(ctx + BUF + buffered, 0, 64 - buffered);
    sha256Compress(ctx, ctx + BUF);
    buffered = 0;
  }
  memory.fill(ctx + BUF + buffered, 0, 56 - buffered);
  store<u64>(ctx + BUF, bswap<u64>(bits), 56);
  sha256Compress(ctx, ctx + BUF);
  for (let i: usize = 0; i < 8; i++) {
    store<u32>(out + (i << 2), bswap<u32>(load<u32>(ctx + (i << 2))));
  }
}
