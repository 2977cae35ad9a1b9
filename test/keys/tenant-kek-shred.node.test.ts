/**
 * Crypto-shredding a tenant whose KEK lives in a real HSM or key server: client.keys.destroy({ tenant })
 * erases the tenant's DEKs and asks the tenant's own provider to destroy its KEK: C_DestroyObject in a
 * SoftHSM2 token (PKCS#11) and Revoke + Destroy on a PyKMIP server (KMIP). Afterwards the key is gone
 * from the token and Destroyed on the server, the records fail with KeyDestroyedError, the receipt
 * names the KEK and verifies, and the other tenants are untouched.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, KeyDestroyedError, parseJsonl, verifyShredReceipt, WebCryptoKeyProvider, type KeyProvider, type VecsealClient } from '../../src/index.js';
import { KmipProvider, Pkcs11Provider } from '../../src/node.js';
import { KmipResultError } from '../../src/kms/kmip/client.js';
import { ResultReason, State } from '../../src/kms/kmip/tags.js';
import { createSoftHsmToken, openTokenAdmin, type SoftHsmToken } from '../kms/_softhsm.js';
import { startPyKmip, type PyKmipServer } from '../kms/_pykmip.js';

const DIM = 16;
const vectors = (n: number): Float32Array[] => Array.from({ length: n }, (_, i) => Float32Array.from({ length: DIM }, (_, j) => i + j / 10));
const ids = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

let token: SoftHsmToken;
let kmip: PyKmipServer;
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  token = await createSoftHsmToken();
  kmip = await startPyKmip();
}, 60_000);

afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
  await kmip?.stop();
  await token?.remove();
}, 30_000);

async function signingPair(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']) as Promise<CryptoKeyPair>;
}

async function sealFor(client: VecsealClient, tenant: string) {
  return client.encryptVectors({ collection: 'docs', tenant, ids: ids(tenant, 6), vectors: vectors(6) });
}

async function opens(client: VecsealClient, tenant: string, records: Awaited<ReturnType<typeof sealFor>>) {
  return client.decryptVectors({ collection: 'docs', tenant, dimension: DIM, records });
}

describe('destroy(tenant) with the tenant KEK in a real HSM or key server', () => {
  it('destroys the tenant KEK in a SoftHSM2 token and on a PyKMIP server; other tenants still open', async () => {
    const hsm = await Pkcs11Provider.generateKek({ libraryPath: token.libraryPath, tokenLabel: token.tokenLabel, pin: token.userPin, keyLabel: 'tenant-initech' });
    closers.push(() => hsm.close());
    await hsm.generateKek(); // a second version: both must go
    const kmipKek = await KmipProvider.open({ host: kmip.host, port: kmip.port, tls: kmip.clientTls, keyName: 'tenant-umbrella' });
    closers.push(() => kmipKek.close());
    const kmipUid = await kmipKek.currentVersion();
    const main = await WebCryptoKeyProvider.generate({ kekId: 'main' });
    const signer = await signingPair();
    const tenantProviders: Record<string, KeyProvider> = { initech: hsm, umbrella: kmipKek };
    const client = await createClient({ provider: main, workers: 0, audit: { signer: signer.privateKey }, tenantProviders });
    closers.push(() => client.close());

    const sealed = { acme: await sealFor(client, 'acme'), initech: await sealFor(client, 'initech'), umbrella: await sealFor(client, 'umbrella') };
    for (const [tenant, records] of Object.entries(sealed)) expect((await opens(client, tenant, records)).every((r) => r.ok), tenant).toBe(true);
    const admin = openTokenAdmin(token);
    try {
      expect(admin.versions('tenant-initech')).toHaveLength(2);

      const hsmReceipt = await client.keys.destroy({ tenant: 'initech' });
      expect(hsmReceipt.keks).toEqual([expect.objectContaining({ provider: hsm.id, kekId: hsm.kekId, state: 'destroyed' })]);
      expect(hsmReceipt.verified).toBe(true);
      expect(await verifyShredReceipt(hsmReceipt, signer.publicKey)).toEqual({ ok: true, digestOk: true, signatureOk: true });
      // The key objects are gone from the token: nothing, not even the token's owner, can unwrap a copy of the DEKs now.
      expect(admin.versions('tenant-initech')).toHaveLength(0);
    } finally {
      admin.close();
    }

    const kmipReceipt = await client.keys.destroy({ tenant: 'umbrella' });
    expect(kmipReceipt.keks).toEqual([expect.objectContaining({ provider: kmipKek.id, kekId: kmipKek.kekId, state: 'destroyed' })]);
    expect(kmipReceipt.verified).toBe(true);
    // PyKMIP removes a destroyed object outright (Item Not Found); a server that keeps it reports Destroyed.
    const after = await kmipKek.client.getState(kmipUid).catch((err: unknown) => {
      if (err instanceof KmipResultError && err.resultReason === ResultReason.ItemNotFound) return 'gone';
      throw err;
    });
    expect([State.Destroyed, 'gone']).toContain(after);

    for (const tenant of ['initech', 'umbrella'] as const) {
      for (const r of await opens(client, tenant, sealed[tenant])) {
        expect(r.ok, tenant).toBe(false);
        if (!r.ok) expect(r.error, tenant).toBeInstanceOf(KeyDestroyedError);
      }
      await expect(sealFor(client, tenant)).rejects.toBeInstanceOf(KeyDestroyedError);
    }
    expect((await opens(client, 'acme', sealed.acme)).every((r) => r.ok)).toBe(true);
    expect((await client.verifyAudit({ publicKey: signer.publicKey })).ok).toBe(true);
    const trail = await client.exportAudit();
    const kekShreds = parseJsonl(trail).filter((e) => e.operation === 'destroy' && e.detail === 'tenant KEK destroyed');
    expect(kekShreds.map((e) => [e.tenant, e.keyRef])).toEqual([['initech', hsm.kekId], ['umbrella', kmipKek.kekId]]);
  });
});
