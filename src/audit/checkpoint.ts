/**
 * Signed checkpoints of the audit chain: ECDSA P-256 with SHA-256 (FIPS 186-5, through WebCrypto)
 * over the canonical JSON statement
 *   {"hash":"<hex hash of entry seq>","seq":<seq>,"time":"<ISO time>","type":"vecseal/audit-checkpoint/v1"}
 * The signature is IEEE P1363 r||s (64 bytes, WebCrypto's form), base64url without padding.
 *
 * A checkpoint lives in two places: as a 'checkpoint' entry in the chain right after the entry it
 * covers (so an export carries its own signed statements and a SIEM keeps them), and in the store's
 * meta under CHECKPOINT_META_KEY (the latest one, so a truncated log table is caught even when the
 * checkpoint entries went with it). The key pair belongs to the app; the SDK never makes or stores it.
 */
import { InvalidInputError } from '../errors.js';
import { fromBase64, toBase64Url } from '../kms/_base64.js';
import type { KeyStore } from '../store/store.js';
import { canonicalJson, utf8 } from './_canonical.js';
import { HASH_HEX, type AuditCheckpoint } from './entry.js';

export const CHECKPOINT_META_KEY = 'audit/checkpoint';
const STATEMENT_TYPE = 'vecseal/audit-checkpoint/v1';
const ECDSA = { name: 'ECDSA', hash: 'SHA-256' } as const;
const SIGNATURE_BYTES = 64;

/** The bytes a checkpoint signature covers. */
export function checkpointStatement(seq: number, hash: string, time: string): Uint8Array<ArrayBuffer> {
  return utf8(canonicalJson({ type: STATEMENT_TYPE, seq, hash, time }));
}

function checkKey(key: unknown, type: KeyType, usage: KeyUsage, role: string): asserts key is CryptoKey {
  const ok =
    typeof CryptoKey !== 'undefined' &&
    key instanceof CryptoKey &&
    key.type === type &&
    key.algorithm.name === 'ECDSA' &&
    (key.algorithm as EcKeyAlgorithm).namedCurve === 'P-256' &&
    key.usages.includes(usage);
  if (!ok) throw new InvalidInputError(`the audit ${role} must be an ECDSA P-256 ${type} CryptoKey with usage '${usage}'`);
}

/** @throws InvalidInputError unless `key` is an ECDSA P-256 private key that may sign */
export function assertSigningKey(key: unknown): asserts key is CryptoKey {
  checkKey(key, 'private', 'sign', 'signer');
}

/** @throws InvalidInputError unless `key` is an ECDSA P-256 public key that may verify */
export function assertVerifyingKey(key: unknown): asserts key is CryptoKey {
  checkKey(key, 'public', 'verify', 'public key');
}

export async function signCheckpoint(signer: CryptoKey, seq: number, hash: string, time: string): Promise<AuditCheckpoint> {
  const signature = new Uint8Array(await crypto.subtle.sign(ECDSA, signer, checkpointStatement(seq, hash, time)));
  return { seq, hash, time, signature: toBase64Url(signature) };
}

/** False for a signature that does not verify or is not even well-formed. */
export async function verifyCheckpoint(publicKey: CryptoKey, cp: AuditCheckpoint): Promise<boolean> {
  try {
    const signature = fromBase64(cp.signature, 'checkpoint signature');
    if (signature.length !== SIGNATURE_BYTES) return false;
    return await crypto.subtle.verify(ECDSA, publicKey, new Uint8Array(signature), checkpointStatement(cp.seq, cp.hash, cp.time));
  } catch {
    return false;
  }
}

/** The meta copy: the checkpoint and the seq of the 'checkpoint' entry that carries it. */
export interface StoredCheckpoint {
  checkpoint: AuditCheckpoint;
  entrySeq: number;
}

/** Parses the meta value; undefined if absent, 'malformed' if it is not one this module wrote. */
export function parseStoredCheckpoint(value: string | undefined): StoredCheckpoint | 'malformed' | undefined {
  if (value === undefined) return undefined;
  try {
    const { seq, hash, time, signature, entry } = JSON.parse(value) as Record<string, unknown>;
    const count = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
    if (!count(seq) || !count(entry) || typeof hash !== 'string' || !HASH_HEX.test(hash) || typeof time !== 'string' || typeof signature !== 'string') return 'malformed';
    return { checkpoint: { seq, hash, time, signature }, entrySeq: entry };
  } catch {
    return 'malformed';
  }
}

/** Moves the meta copy forward (compare-and-set: a slower writer never moves it back). */
export async function saveCheckpoint(store: KeyStore, stored: StoredCheckpoint): Promise<void> {
  const value = canonicalJson({ ...stored.checkpoint, entry: stored.entrySeq });
  for (;;) {
    const current = await store.getMeta(CHECKPOINT_META_KEY);
    const parsed = parseStoredCheckpoint(current);
    if (parsed !== undefined && parsed !== 'malformed' && parsed.entrySeq >= stored.entrySeq) return;
    if (await store.setMeta(CHECKPOINT_META_KEY, value, current ?? null)) return;
  }
}
