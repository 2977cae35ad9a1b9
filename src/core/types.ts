/**
 * Types of the `vecseal/core` surface: the low-level, synchronous primitives that run on the
 * calling thread. Everything here takes and returns plain bytes, so batches can be moved between
 * threads with structured clone or transfer.
 */

/**
 * Many byte strings in one buffer: record i is `bytes.subarray(offsets[i], offsets[i + 1])`.
 * `offsets` has count + 1 entries, starts at 0 and never decreases.
 */
export interface PackedBytes {
  readonly bytes: Uint8Array;
  readonly offsets: Uint32Array;
}

/** A list of byte strings, either as separate arrays or packed in one buffer. */
export type ByteList = readonly Uint8Array[] | PackedBytes;

/** Keys, IVs or AADs for a batch. Exactly one of the single and per-record forms is given. */
export interface BatchKeying {
  /** One 16- or 32-byte AES key for every record. */
  key?: Uint8Array;
  /** One key per record: an array, or count x keyLength bytes packed. All of one length. */
  keys?: readonly Uint8Array[] | Uint8Array;
  /** One 12-byte IV per record: an array, or count x 12 bytes packed. Never reuse an IV under a key. */
  ivs: readonly Uint8Array[] | Uint8Array;
  /** Additional authenticated data shared by every record. */
  aad?: Uint8Array;
  /** Additional authenticated data per record. */
  aads?: ByteList;
}

export interface SealBatchInput extends BatchKeying {
  plaintexts: ByteList;
}

export interface OpenBatchInput extends BatchKeying {
  /** Each record is ciphertext || 16-byte tag, as sealBatch returns it. */
  ciphertexts: ByteList;
}

export interface OpenBatchResult {
  /**
   * Plaintexts in input order. A rejected record's segment has its length but only zero bytes:
   * plaintext of a record that failed authentication is never returned.
   */
  plaintexts: PackedBytes;
  /** ok[i] is 1 if record i authenticated, 0 if it was rejected. */
  ok: Uint8Array;
  /** Number of rejected records. */
  rejected: number;
}

/** The synchronous core, from `loadCore()`. */
export interface Core {
  /**
   * AES-GCM encryption with a 96-bit IV and a 128-bit tag.
   * @param key 16 (AES-128) or 32 (AES-256) bytes
   * @param iv 12 bytes; must never repeat under the same key
   * @param plaintext any length up to 2^32 - 1 bytes
   * @param aad additional authenticated data (optional)
   * @returns ciphertext || tag (plaintext.length + 16 bytes)
   * @throws InvalidInputError for a wrong key or IV length or a non-Uint8Array argument
   */
  aesGcmEncrypt(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Uint8Array;
  /**
   * AES-GCM decryption and tag check.
   * @returns the plaintext
   * @throws AuthenticationError if the tag does not verify (no plaintext is returned)
   * @throws InvalidInputError for a wrong key or IV length, or input shorter than the 16-byte tag
   */
  aesGcmDecrypt(key: Uint8Array, iv: Uint8Array, ciphertextAndTag: Uint8Array, aad?: Uint8Array): Uint8Array;
  /**
   * HKDF-SHA256 (RFC 5869) extract-then-expand.
   * @param length output bytes, 0..8160 (255 x 32)
   */
  hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array;
  /** HKDF-Extract: the 32-byte pseudorandom key HMAC-SHA256(salt, ikm). */
  hkdfExtract(ikm: Uint8Array, salt: Uint8Array): Uint8Array;
  /** HKDF-Expand of one info under a pseudorandom key (at least 32 bytes, as RFC 5869 asks). */
  hkdfExpand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array;
  /** HMAC-SHA256: a 32-byte MAC. */
  hmacSha256(key: Uint8Array, message: Uint8Array): Uint8Array;
  /** SHA-256: a 32-byte digest. */
  sha256(message: Uint8Array): Uint8Array;
  /**
   * Seals many records in one call. Records are processed in chunks of bounded working memory;
   * each chunk is one copy into linear memory and one copy out.
   * @returns ciphertext || tag of each record, packed, in input order
   * @throws InvalidInputError if counts or lengths disagree (nothing is encrypted)
   */
  sealBatch(input: SealBatchInput): PackedBytes;
  /**
   * Opens many records in one call and reports each record's result; a record that fails
   * authentication (or is shorter than a tag) yields zeros, never plaintext.
   * @throws InvalidInputError if counts or lengths disagree
   */
  openBatch(input: OpenBatchInput): OpenBatchResult;
  /**
   * HKDF-Expand of many infos under one pseudorandom key, in one call.
   * @returns count x length bytes, packed: output i at [i * length, (i + 1) * length)
   */
  hkdfExpandBatch(prk: Uint8Array, infos: ByteList, length: number): Uint8Array;
}
