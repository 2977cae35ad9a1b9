/**
 * The cipher backends a batch of records can be sealed with. Every backend computes the same
 * functions (SHA-256, HKDF-SHA256, AES-256-GCM), so all of them produce byte-identical records;
 * they differ only in where the work runs and how fast it is for a given record size.
 */
import type { ByteList } from '../core/index.js';

/** `wasm`: the constant-time core; `webcrypto`: crypto.subtle; `node`: node:crypto (Node only). */
export type BackendName = 'wasm' | 'webcrypto' | 'node';
/** What a caller may ask for: a backend by name, or `auto` (the fastest for the runtime and record size). */
export type BackendChoice = BackendName | 'auto';

export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'wasm', 'webcrypto', 'node'];

/** Plaintext of each record in input order, or null where the record failed authentication. */
export type OpenedBatch = (Uint8Array | null)[];

export interface CipherBackend {
  readonly name: BackendName;
  sha256(data: Uint8Array): Promise<Uint8Array>;
  hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Promise<Uint8Array>;
  /**
   * AES-256-GCM seals record i (ivs[12i..12i+12), plaintexts[i], aads[i]) and writes
   * ciphertext || tag into outs[i], which is exactly plaintext length + 16 bytes.
   */
  sealInto(key: Uint8Array, ivs: Uint8Array, plaintexts: ByteList, aads: ByteList, outs: readonly Uint8Array[]): Promise<void>;
  /** AES-256-GCM opens each ciphertext || tag; a record that fails authentication gets null, never bytes. */
  open(key: Uint8Array, ivs: Uint8Array, sealed: readonly Uint8Array[], aads: ByteList): Promise<OpenedBatch>;
}
