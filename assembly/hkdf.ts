/**
 * HKDF-SHA256 (RFC 5869) expand, and a batch expand that derives many outputs from one
 * pseudorandom key with different infos (per-record subkeys). Extract is one HMAC (hmac.ts).
 *
 * Why it is constant-time: it is HMAC-SHA256 (constant-time); loop counts depend only on lengths.
 */
import { hmacFinish, hmacSetKey, hmacStart, hmacUpdate } from './hmac';
import { HKDF_T } from './scratch';

const COUNTER: usize = memory.data(16, 16);

/** HKDF-Expand under the HMAC key already installed (the PRK). outLen must be <= 255 * 32. */
export function hkdfExpandWithInstalledKey(infoPtr: usize, infoLen: usize, out: usize, outLen: usize): void {
  let produced: usize = 0;
  let counter: u32 = 1;
  while (produced < outLen) {
    hmacStart();
    if (counter > 1) hmacUpdate(HKDF_T, 32);
    hmacUpdate(infoPtr, infoLen);
    store<u8>(COUNTER, <u8>counter);
    hmacUpdate(COUNTER, 1);
    hmacFinish(HKDF_T);
    const take = outLen - produced < 32 ? outLen - produced : 32;
    memory.copy(out + produced, HKDF_T, take);
    produced += take;
    counter++;
  }
  memory.fill(HKDF_T, 0, 32);
}

export function hkdfExpand(prkPtr: usize, prkLen: usize, infoPtr: usize, infoLen: usize, out: usize, outLen: usize): void {
  hmacSetKey(prkPtr, prkLen);
  hkdfExpandWithInstalledKey(infoPtr, infoLen, out, outLen);
}

/**
 * Derives `count` outputs of outLen bytes each into out (packed), one per info. Infos are described
 * by a table of (ptr: u32, len: u32) pairs at descPtr.
 */
export function hkdfExpandMany(prkPtr: usize, prkLen: usize, descPtr: usize, count: usize, outLen: usize, out: usize): void {
  hmacSetKey(prkPtr, prkLen);
  for (let i: usize = 0; i < count; i++) {
    const d = descPtr + (i << 3);
    hkdfExpandWithInstalledKey(<usize>load<u32>(d, 0), <usize>load<u32>(d, 4), out + i * outLen, outLen);
  }
}
