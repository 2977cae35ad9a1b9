/**
 * Node only: that the Azure path is the real cryptography, not just a round trip through our own
 * server. The provider's RSA-OAEP-256 ciphertext opens with node:crypto's OAEP-SHA256 (and not with
 * SHA-1) under a key we imported; its A256KW ciphertext opens with node:crypto's RFC 3394 unwrap;
 * the local server's wrapkey/unwrapkey pass the Wycheproof RSA-OAEP-2048-SHA256 and AES key wrap
 * vectors (test/vectors/wycheproof); and an unwrapped DEK whose binding tag does not match is wiped.
 *
 * This file starts its own vault and Managed HSM so its requests never disturb the fault counters
 * the conformance suite in azure-key-vault.test.ts relies on.
 */
import { constants, createDecipheriv, generateKeyPairSync, privateDecrypt, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { checkBinding } from '../../src/kms/_binding.js';
import { AzureKeyVaultProvider } from '../../src/kms/azure-key-vault.js';
import { sealWrappedKey, type WrapContext } from '../../src/kms/provider.js';
import aesWrapVectors from '../vectors/wycheproof/aes_wrap_test.json';
import rsaOaepVectors from '../vectors/wycheproof/rsa_oaep_2048_sha256_mgf1sha256_test.json';
import { azureKeyVaultAdmin, uniqueKeyName, type AzureKeyVaultAdmin } from './_azure-key-vault-admin.js';
import { startAzureKeyVaultServer, type AzureKeyVaultServer } from './servers/azure-key-vault.server.js';

// Lets the wipe test see the very buffer the provider hands to the binding check.
vi.mock('../../src/kms/_binding.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/kms/_binding.js')>();
  return { ...original, checkBinding: vi.fn(original.checkBinding) };
});

const ctx: WrapContext = { dekId: 'dek/azure/node', keyVersion: 1, collection: 'docs', tenant: 'acme' };
const token = `node-test-${randomBytes(18).toString('base64url')}`;
const RFC3394_IV = Buffer.from('a6a6a6a6a6a6a6a6', 'hex');

let vault: AzureKeyVaultServer;
let hsm: AzureKeyVaultServer;
let vaultAdmin: AzureKeyVaultAdmin;
let hsmAdmin: AzureKeyVaultAdmin;

beforeAll(async () => {
  vault = await startAzureKeyVaultServer({ flavour: 'vault', token });
  hsm = await startAzureKeyVaultServer({ flavour: 'managed-hsm', token });
  vaultAdmin = azureKeyVaultAdmin(vault.url, token);
  hsmAdmin = azureKeyVaultAdmin(hsm.url, token);
});

afterAll(async () => {
  await Promise.all([vault?.close(), hsm?.close()]);
});

const hex = (text: string): Buffer => Buffer.from(text, 'hex');
const b64u = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');

describe('Azure ciphertexts are the standard algorithms', () => {
  it('RSA-OAEP-256: the wrapped DEK decrypts with node:crypto OAEP-SHA256 under the imported private key, not with OAEP-SHA1', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const name = uniqueKeyName('byok-rsa');
    await vaultAdmin.importKey(name, { key: privateKey.export({ format: 'jwk' }) });
    const provider = new AzureKeyVaultProvider({ keyUrl: `${vault.url}/keys/${name}`, getAccessToken: async () => token });
    const dek = crypto.getRandomValues(new Uint8Array(32));
    const wrapped = await provider.wrap(dek, ctx);
    const blob = wrapped.bytes.subarray(0, 256);
    expect(wrapped.bytes.length).toBe(256 + 32);
    expect(new Uint8Array(privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, blob))).toEqual(dek);
    expect(() => privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, blob)).toThrow();
    expect(await provider.unwrap(wrapped, ctx)).toEqual(dek);
  });

  it('A256KW: the wrapped DEK is RFC 3394 AES key wrap under the imported oct-HSM key', async () => {
    const kek = randomBytes(32);
    const name = uniqueKeyName('byok-aes');
    await hsmAdmin.importKey(name, { key: { kty: 'oct-HSM', k: b64u(kek) } });
    const provider = new AzureKeyVaultProvider({ keyUrl: `${hsm.url}/keys/${name}`, algorithm: 'A256KW', getAccessToken: async () => token });
    const dek = crypto.getRandomValues(new Uint8Array(32));
    const wrapped = await provider.wrap(dek, ctx);
    expect(wrapped.bytes.length).toBe(40 + 32);
    const decipher = createDecipheriv('id-aes256-wrap', kek, RFC3394_IV);
    expect(new Uint8Array(Buffer.concat([decipher.update(wrapped.bytes.subarray(0, 40)), decipher.final()]))).toEqual(dek);
  });
});

describe('the local server against Wycheproof vectors', () => {
  it('Wycheproof/rsa_oaep_2048_sha256_mgf1sha256_test.json: unwrapkey opens valid ciphertexts and refuses invalid ones with 400', async () => {
    let valid = 0;
    let invalid = 0;
    let labelled = 0;
    for (const group of rsaOaepVectors.testGroups) {
      const name = uniqueKeyName('wycheproof-rsa');
      await vaultAdmin.importKey(name, { key: group.privateKeyJwk });
      for (const t of group.tests) {
        const label = `Wycheproof/rsa_oaep_2048_sha256_mgf1sha256_test.json/${t.tcId}`;
        // Key Vault's RSA-OAEP-256 has no OAEP label parameter: cases encrypted with a label cannot be expressed.
        if (t.label !== '') {
          labelled++;
          continue;
        }
        const answer = await vaultAdmin.raw('POST', `/keys/${name}/unwrapkey`, { alg: 'RSA-OAEP-256', value: b64u(hex(t.ct)) });
        if (t.result === 'valid') {
          expect(answer.status, label).toBe(200);
          expect(answer.json?.value, label).toBe(b64u(hex(t.msg)));
          valid++;
        } else {
          expect(answer.status, label).toBe(400);
          expect((answer.json?.error as { code: string }).code, label).toBe('BadParameter');
          invalid++;
        }
      }
    }
    expect([valid, invalid, labelled]).toEqual([10, 19, 8]);
  });

  it('Wycheproof/aes_wrap_test.json: wrapkey and unwrapkey (A128KW, A192KW, A256KW) match valid cases and refuse invalid ones', async () => {
    const counts = { valid: 0, invalid: 0, acceptable: 0 };
    for (const group of aesWrapVectors.testGroups) {
      const alg = `A${group.keySize}KW`;
      for (const t of group.tests) {
        const label = `Wycheproof/aes_wrap_test.json/${t.tcId}`;
        // 'acceptable' cases wrap 8-byte keys, which RFC 3394 allows and SP 800-38F does not; either answer is right.
        if (t.result === 'acceptable') {
          counts.acceptable++;
          continue;
        }
        const name = uniqueKeyName(`wycheproof-kw-${t.tcId}`);
        await hsmAdmin.importKey(name, { key: { kty: 'oct-HSM', k: b64u(hex(t.key)) } });
        const wrap = () => hsmAdmin.raw('POST', `/keys/${name}/wrapkey`, { alg, value: b64u(hex(t.msg)) });
        const unwrap = () => hsmAdmin.raw('POST', `/keys/${name}/unwrapkey`, { alg, value: b64u(hex(t.ct)) });
        if (t.result === 'valid') {
          expect((await wrap()).json?.value, `${label} wrap`).toBe(b64u(hex(t.ct)));
          expect((await unwrap()).json?.value, `${label} unwrap`).toBe(b64u(hex(t.msg)));
          counts.valid++;
        } else {
          // The defect is in the ciphertext (modified IV, bad size) or, where there is none, in the key to wrap.
          if (t.ct !== '') expect((await unwrap()).status, `${label} unwrap`).toBe(400);
          if (t.ct === '' || t.msg === '') expect((await wrap()).status, `${label} wrap`).toBe(400);
          counts.invalid++;
        }
      }
    }
    expect(counts).toEqual({ valid: 36, invalid: 126, acceptable: 3 });
  });
});

describe('binding tag check', () => {
  it('the provider checks the buffer it returns, and a tag mismatch leaves that buffer zeroed', async () => {
    const name = uniqueKeyName('wipe');
    await hsmAdmin.createKey(name, { kty: 'oct-HSM', key_size: 256 });
    const provider = new AzureKeyVaultProvider({ keyUrl: `${hsm.url}/keys/${name}`, algorithm: 'A256KW', getAccessToken: async () => token });
    const spy = vi.mocked(checkBinding);
    const dek = crypto.getRandomValues(new Uint8Array(32));
    const wrapped = await provider.wrap(dek, ctx);

    spy.mockClear();
    const out = await provider.unwrap(wrapped, ctx);
    expect(out).toEqual(dek);
    expect(spy.mock.calls[0]![0]).toBe(out);

    spy.mockClear();
    const other = { ...ctx, tenant: 'intruder' };
    const forged = await sealWrappedKey(wrapped.provider, wrapped.kekId, wrapped, other);
    await expect(provider.unwrap(forged, other)).rejects.toMatchObject({ name: 'AuthenticationError', reason: 'wrong-context' });
    const seen = spy.mock.calls[0]![0];
    expect(seen.length).toBe(32);
    expect(seen.every((b) => b === 0)).toBe(true);
  });
});
