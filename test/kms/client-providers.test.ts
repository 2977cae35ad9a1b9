/**
 * The public API over real providers: createClient with AWS KMS (local server, generateDataKey in
 * one round trip) and with a MultiKeyProvider (AWS + a WebCrypto escrow KEK), records sealed and
 * opened; a client whose KEK is gone cannot open them, and an escrow-only client can.
 * Portable: Node and the browsers.
 */
import { describe, expect, inject, it } from 'vitest';
import { createClient } from '../../src/client.js';
import { callAwsJson, type AwsCredentials } from '../../src/kms/_aws-sigv4.js';
import { AwsKmsProvider } from '../../src/kms/aws-kms.js';
import { MultiKeyProvider } from '../../src/kms/multi.js';
import { WebCryptoKeyProvider } from '../../src/kms/webcrypto.js';
import { MemoryKeyStore } from '../../src/store/memory.js';

const url = inject('awsKmsUrl');
const region = inject('awsRegion');
const credentials: AwsCredentials = { accessKeyId: inject('awsAccessKeyId'), secretAccessKey: inject('awsSecretAccessKey') };

async function kms(op: string, body: Record<string, unknown>): Promise<Record<string, any>> {
  const r = await callAwsJson({ provider: 'test', url, region, service: 'kms', target: `TrentService.${op}`, body, credentials, signal: AbortSignal.timeout(10_000) });
  if (r.status !== 200) throw new Error(`${op} failed: HTTP ${r.status}`);
  return (r.json ?? {}) as Record<string, any>;
}

const vectors = Array.from({ length: 50 }, () => Float32Array.from({ length: 64 }, () => Math.random() - 0.5));
const ids = vectors.map((_, i) => `doc-${i}`);

describe('createClient over key providers', () => {
  it('AWS KMS: seals and opens; a disabled KEK stops new opens with KEY_STATE', async () => {
    const keyId = (await kms('CreateKey', { Description: 'client test' })).KeyMetadata.Arn as string;
    const store = new MemoryKeyStore();
    const provider = new AwsKmsProvider({ keyId, region, endpoint: url, credentials });
    const client = await createClient({ provider, store, workers: 0 });
    const sealed = await client.encryptVectors({ collection: 'docs', tenant: 'acme', ids, vectors });
    const stored = await store.getDek('dek/acme/docs', 1);
    expect(stored?.wrapped.provider).toBe('aws-kms');
    expect(stored?.wrapped.kekId).toBe(keyId);
    const opened = await client.decryptVectors({ collection: 'docs', tenant: 'acme', dimension: 64, records: sealed });
    expect(opened.every((r) => r.ok)).toBe(true);
    expect(opened.map((r) => (r.ok ? Array.from(r.vector as Float32Array) : []))).toEqual(vectors.map((v) => Array.from(v)));
    await client.close();

    await kms('DisableKey', { KeyId: keyId });
    const later = await createClient({ provider, store, workers: 0 });
    const refused = await later.decryptVectors({ collection: 'docs', tenant: 'acme', dimension: 64, records: sealed }).catch((e: unknown) => e);
    const codes = Array.isArray(refused) ? refused.map((r) => (r.ok ? 'ok' : r.error.code)) : [(refused as { code: string }).code];
    expect(new Set(codes)).toEqual(new Set(['KEY_STATE']));
    await later.close();
  });

  it('multi: AWS plus a WebCrypto escrow KEK; the escrow alone opens the records', async () => {
    const keyId = (await kms('CreateKey', { Description: 'client multi test' })).KeyMetadata.Arn as string;
    const aws = new AwsKmsProvider({ keyId, region, endpoint: url, credentials });
    const escrow = await WebCryptoKeyProvider.generate({ kekId: 'escrow', algorithm: 'RSA-OAEP-256' });
    const store = new MemoryKeyStore();
    const client = await createClient({ provider: new MultiKeyProvider({ providers: [aws, escrow] }), store, workers: 0 });
    const sealed = await client.encryptVectors({ collection: 'docs', ids, vectors });
    await client.close();
    const recovery = await createClient({ provider: new MultiKeyProvider({ providers: [escrow] }), store, workers: 0 });
    const opened = await recovery.decryptVectors({ collection: 'docs', dimension: 64, records: sealed });
    expect(opened.every((r) => r.ok)).toBe(true);
    await recovery.close();
  });
});
