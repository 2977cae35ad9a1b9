/**
 * Batch AES-GCM: seal or open many records in one call over one region of linear memory.
 *
 * A batch is described by a table of `count` 32-byte entries at descPtr, eight u32 each:
 *   [0] src      input bytes (plaintext to seal, ciphertext to open)
 *   [1] dst      output bytes (may equal src)
 *   [2] len      length of src and dst
 *   [3] aad      additional authenticated data
 *   [4] aadLen
 *   [5] iv       12 bytes
 *   [6] key      keyLen bytes; consecutive entries with the same key pointer reuse the expanded key
 *   [7] tag      16 bytes: written when sealing, checked when opening
 * Opening writes one status byte per record at statusPtr (1 = authentic, 0 = rejected) and zeroes
 * the dst bytes of every rejected record, so no unauthenticated plaintext survives the call.
 */
import { gcmAad, gcmDecrypt, gcmEncrypt, gcmFinish, gcmStart, gcmVerify } from './gcm';

export const DESC_BYTES: usize = 32;

/**
 * Starts the GCM message of descriptor d: expands its key unless it is the same key pointer as the
 * previous record's, then absorbs its AAD. Returns the key pointer, or -1 for a bad key length.
 */
function startRecord(d: usize, keyLen: i32, lastKey: usize): usize {
  const key = <usize>load<u32>(d, 24);
  if (gcmStart(key, keyLen, <usize>load<u32>(d, 20), key != lastKey) != 0) return -1;
  gcmAad(<usize>load<u32>(d, 12), <usize>load<u32>(d, 16));
  return key;
}

/** Returns 0, or -1 if keyLen is unsupported. */
export function sealMany(descPtr: usize, count: usize, keyLen: i32): i32 {
  let lastKey: usize = -1;
  for (let i: usize = 0; i < count; i++) {
    const d = descPtr + i * DESC_BYTES;
    lastKey = startRecord(d, keyLen, lastKey);
    if (lastKey == -1) return -1;
    gcmEncrypt(<usize>load<u32>(d, 0), <usize>load<u32>(d, 4), <usize>load<u32>(d, 8));
    gcmFinish(<usize>load<u32>(d, 28));
  }
  return 0;
}

/** Returns the number of rejected records, or -1 if keyLen is unsupported. */
export function openMany(descPtr: usize, count: usize, keyLen: i32, statusPtr: usize): i32 {
  let lastKey: usize = -1;
  let rejected: i32 = 0;
  for (let i: usize = 0; i < count; i++) {
    const d = descPtr + i * DESC_BYTES;
    lastKey = startRecord(d, keyLen, lastKey);
    if (lastKey == -1) return -1;
    const dst = <usize>load<u32>(d, 4);
    const len = <usize>load<u32>(d, 8);
    gcmDecrypt(<usize>load<u32>(d, 0), dst, len);
    const ok = gcmVerify(<usize>load<u32>(d, 28));
    store<u8>(statusPtr + i, <u8>ok);
    // Whether a record failed is public (it is reported); wiping its plaintext may branch on it.
    if (ok == 0) {
      memory.fill(dst, 0, len);
      rejected++;
    }
  }
  return rejected;
}
