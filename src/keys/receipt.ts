/**
 * Shred receipts: what destroy() hands back as evidence that DEKs were crypto-shredded. A receipt
 * names every DEK version erased (ids and KEK ids only, never key bytes), what the provider did to
 * a tenant KEK, who asked, when, and the audit entry that records it; `digest` is SHA-256 over the
 * canonical JSON (RFC 8785 subset, src/audit/_canonical.ts) of every other field, and `signature`
 * an ECDSA P-256 / SHA-256 signature (IEEE P1363 r||s, base64url) over the canonical JSON of every
 * field but itself, made with the app's key, as audit checkpoints are. FORMAT.md section 11 gives
 * the layout so a third party can check a receipt with WebCrypto alone.
 *
 * A receipt proves what this client did and saw: the store held no wrapped bytes for those versions
 * afterwards (it re-reads them), and the provider answered as recorded. It cannot prove that no
 * copy of a wrapped DEK survives elsewhere (a backup of the store): that copy is useless only once
 * the KEK that wrapped it is destroyed too, which is why destroying a tenant also destroys that
 * tenant's own KEK where the provider can.
 */
import { InvalidInputError } from '../errors.js';
import { canonicalJson, sha256Hex, utf8, type CanonicalValue } from '../audit/_canonical.js';
import { fromBase64, toBase64Url } from '../kms/_base64.js';

export const RECEIPT_TYPE = 'vecseal/shred-receipt/v1';
const ECDSA = { name: 'ECDSA', hash: 'SHA-256' } as const;
const SIGNATURE_BYTES = 64;

export interface ShreddedDek {
  dekId: string;
  version: number;
  collection: string;
  tenant: string;
  /** The KEK that had wrapped it. */
  kekId: string;
}

/** What a provider did to a tenant's own KEK. */
export interface KekShred {
  provider: string;
  kekId: string;
  /** 'destroyed' now, 'pending-deletion' at deletionDate, or 'not-supported' / 'failed' (see detail). */
  state: 'destroyed' | 'pending-deletion' | 'not-supported' | 'failed';
  deletionDate?: string | undefined;
  detail?: string | undefined;
}

export interface ShredReceipt {
  type: typeof RECEIPT_TYPE;
  /** What destroy() was asked to shred. */
  scope: { collection?: string | undefined; tenant?: string | undefined; version?: number | undefined };
  destroyed: ShreddedDek[];
  /** Tenant KEKs destroyed or scheduled for deletion at their provider (empty if none was asked). */
  keks: KekShred[];
  /** The principal who asked. */
  principal: string;
  /** ISO 8601. */
  at: string;
  /** True when the store, read again afterwards, held every listed version as destroyed with no wrapped bytes. */
  verified: boolean;
  /** Seq of the audit entry that records the shred (absent without an audit log). */
  auditSeq?: number | undefined;
  /** Lower-case hex SHA-256 of the canonical JSON of every field but digest and signature. */
  digest: string;
  /** Present when the client has a signer (receiptSigner or the audit signer). */
  signature?: string | undefined;
}

type Unsigned = Omit<ShredReceipt, 'digest' | 'signature'>;

function body(receipt: Unsigned): CanonicalValue {
  const { type, scope, destroyed, keks, principal, at, verified, auditSeq } = receipt;
  return { type, scope: { ...scope }, destroyed: destroyed.map((d) => ({ ...d })), keks: keks.map((k) => ({ ...k })), principal, at, verified, auditSeq };
}

/** Adds the digest and, with a signer, the signature. */
export async function finishReceipt(receipt: Unsigned, signer: CryptoKey | undefined): Promise<ShredReceipt> {
  const digest = await sha256Hex(canonicalJson(body(receipt)));
  const out: ShredReceipt = { ...receipt, digest };
  if (signer) {
    const statement = utf8(canonicalJson({ ...(body(receipt) as object), digest }));
    out.signature = toBase64Url(new Uint8Array(await crypto.subtle.sign(ECDSA, signer, statement)));
  }
  return out;
}

export interface ReceiptVerification {
  ok: boolean;
  digestOk: boolean;
  /** undefined when the receipt carries no signature. */
  signatureOk: boolean | undefined;
}

/**
 * Checks a receipt's digest and, if it has one, its signature under the app's public key.
 * @param receipt a receipt as destroy() returned it, or parsed back from JSON
 * @param publicKey ECDSA P-256 public key with usage 'verify'; required if the receipt is signed
 * @example
 * const receipt = await client.keys.destroy({ tenant: 'acme' });
 * const { ok } = await verifyShredReceipt(JSON.parse(JSON.stringify(receipt)), publicKey);
 * @throws InvalidInputError for something that is not a receipt, or a signed one without a key
 */
export async function verifyShredReceipt(receipt: ShredReceipt, publicKey?: CryptoKey): Promise<ReceiptVerification> {
  if (receipt === null || typeof receipt !== 'object' || receipt.type !== RECEIPT_TYPE || !Array.isArray(receipt.destroyed) || !Array.isArray(receipt.keks)) {
    throw new InvalidInputError(`not a ${RECEIPT_TYPE} receipt`);
  }
  let digestOk: boolean;
  try {
    digestOk = (await sha256Hex(canonicalJson(body(receipt)))) === receipt.digest;
  } catch {
    digestOk = false; // a field outside the canonical domain: not what finishReceipt wrote
  }
  let signatureOk: boolean | undefined;
  if (receipt.signature !== undefined) {
    if (!publicKey) throw new InvalidInputError('the receipt is signed: pass the public key that verifies it');
    try {
      const signature = fromBase64(receipt.signature, 'receipt signature');
      const statement = utf8(canonicalJson({ ...(body(receipt) as object), digest: receipt.digest }));
      signatureOk = signature.length === SIGNATURE_BYTES && (await crypto.subtle.verify(ECDSA, publicKey, new Uint8Array(signature), statement));
    } catch {
      signatureOk = false;
    }
  }
  return { ok: digestOk && signatureOk !== false, digestOk, signatureOk };
}
