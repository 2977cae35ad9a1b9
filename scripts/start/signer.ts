/**
 * The app's ECDSA P-256 key pair (FIPS 186-5, through WebCrypto) that signs audit checkpoints and
 * shred receipts, kept as JWKs in <data>/audit-signer.json (0600). The private key is imported
 * non-extractable for signing; the public key verifies. Only the public key's fingerprint is shown.
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic, type DataFolder } from './data-folder.js';
import { StartError, systemCode } from './fail.js';

const SIGNER_FORMAT = 'vecseal-start-signer/v1';
const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;

export interface Signer {
  signer: CryptoKey;
  publicKey: CryptoKey;
  /** First 16 hex digits of SHA-256 over the raw public key. */
  fingerprint: string;
  created: boolean;
  path: string;
}

async function fingerprintOf(publicKey: CryptoKey): Promise<string> {
  const raw = new Uint8Array(await crypto.subtle.exportKey('raw', publicKey));
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', raw));
  return Array.from(digest.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Loads the signer of the data folder, or creates it on the first run.
 * @throws StartError for a damaged or foreign signer file
 */
export async function openSigner(folder: DataFolder): Promise<Signer> {
  const path = folder.path('audit-signer.json');
  let text: string | undefined;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (systemCode(err) !== 'ENOENT') throw new StartError(`cannot read the audit signer ${path} (${systemCode(err) ?? 'error'})`);
  }
  if (text === undefined) {
    const pair = (await crypto.subtle.generateKey(ECDSA_P256, true, ['sign', 'verify'])) as CryptoKeyPair;
    const file = {
      format: SIGNER_FORMAT,
      installId: folder.installId,
      privateJwk: await crypto.subtle.exportKey('jwk', pair.privateKey),
      publicJwk: await crypto.subtle.exportKey('jwk', pair.publicKey),
      createdAt: new Date().toISOString(),
    };
    await writeFileAtomic(path, `${JSON.stringify(file, null, 2)}\n`);
    // Re-imported so the key this run signs with is non-extractable, as on every later run.
    const signer = await crypto.subtle.importKey('jwk', file.privateJwk, ECDSA_P256, false, ['sign']);
    return { signer, publicKey: pair.publicKey, fingerprint: await fingerprintOf(pair.publicKey), created: true, path };
  }
  try {
    const file = JSON.parse(text) as { format?: unknown; installId?: unknown; privateJwk?: JsonWebKey; publicJwk?: JsonWebKey };
    if (file.format !== SIGNER_FORMAT) throw new Error('format');
    if (file.installId !== folder.installId) throw new StartError(`the audit signer ${path} belongs to another data folder: put back this folder's, or start over with a new --data`);
    const signer = await crypto.subtle.importKey('jwk', file.privateJwk!, ECDSA_P256, false, ['sign']);
    const publicKey = await crypto.subtle.importKey('jwk', file.publicJwk!, ECDSA_P256, true, ['verify']);
    const probe = new TextEncoder().encode('vecseal-start/signer-check');
    const signature = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, signer, probe);
    if (!(await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, publicKey, signature, probe))) throw new Error('the two keys are not a pair');
    return { signer, publicKey, fingerprint: await fingerprintOf(publicKey), created: false, path };
  } catch (err) {
    if (err instanceof StartError) throw err;
    throw new StartError(`the audit signer ${path} is corrupted: restore it from a backup (without it old checkpoints and receipts cannot be checked)`);
  }
}
