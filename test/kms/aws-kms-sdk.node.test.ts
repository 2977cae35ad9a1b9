/**
 * The local AWS KMS server driven by the official AWS SDK (@aws-sdk/client-kms): if the SDK's own
 * serialisers, SigV4 signer and error parsers accept it, the server speaks the real protocol. Then
 * interoperability both ways: what the SDK encrypts under the vecseal encryption context,
 * AwsKmsProvider unwraps, and what the provider wraps, the SDK decrypts.
 *
 * Node only (the SDK's Node build); uses its own server so that the fault tests of other files
 * cannot reach it.
 */
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  KMSClient,
  ReEncryptCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsKmsProvider, awsEncryptionContext } from '../../src/kms/aws-kms.js';
import { sealWrappedKey, type WrapContext } from '../../src/kms/provider.js';
import { startAwsKmsServer, type AwsKmsServer } from './servers/aws-kms.server.js';

let server: AwsKmsServer;
let kms: KMSClient;
const ctx: WrapContext = { dekId: 'dek/sdk/1', keyVersion: 1, collection: 'docs', tenant: 'acme' };
const encryptionContext = { purpose: 'sdk-test', tenant: 'acme' };

async function sdkError(promise: Promise<unknown>): Promise<{ name: string; $metadata?: { httpStatusCode?: number } }> {
  try {
    await promise;
  } catch (err) {
    return err as { name: string };
  }
  throw new Error('expected the SDK call to fail');
}

beforeAll(async () => {
  server = await startAwsKmsServer();
  kms = new KMSClient({
    endpoint: server.url,
    region: server.region,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    maxAttempts: 1,
  });
});

afterAll(async () => {
  kms?.destroy();
  await server?.close();
});

const newKey = async (): Promise<string> => (await kms.send(new CreateKeyCommand({ Description: 'sdk test' }))).KeyMetadata!.Arn!;

describe('the local AWS KMS, driven by @aws-sdk/client-kms', () => {
  it('CreateKey and DescribeKey', async () => {
    const created = await kms.send(new CreateKeyCommand({ Description: 'sdk test' }));
    const meta = created.KeyMetadata!;
    expect(meta.Arn).toBe(`arn:aws:kms:${server.region}:${server.accountId}:key/${meta.KeyId}`);
    expect(meta).toMatchObject({ KeyState: 'Enabled', Enabled: true, KeyUsage: 'ENCRYPT_DECRYPT', KeySpec: 'SYMMETRIC_DEFAULT' });
    expect(meta.CreationDate).toBeInstanceOf(Date);
    const described = await kms.send(new DescribeKeyCommand({ KeyId: meta.KeyId }));
    expect(described.KeyMetadata?.Arn).toBe(meta.Arn);
  });

  it('Encrypt and Decrypt with an EncryptionContext; another context fails with InvalidCiphertextException', async () => {
    const arn = await newKey();
    const plaintext = new TextEncoder().encode('hello kms');
    const enc = await kms.send(new EncryptCommand({ KeyId: arn, Plaintext: plaintext, EncryptionContext: encryptionContext }));
    expect(enc.KeyId).toBe(arn);
    expect(enc.EncryptionAlgorithm).toBe('SYMMETRIC_DEFAULT');
    const dec = await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: encryptionContext }));
    expect(dec.Plaintext).toEqual(plaintext);
    expect(dec.KeyId).toBe(arn);
    const wrongContext = await sdkError(kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { ...encryptionContext, tenant: 'other' } })));
    expect(wrongContext.name).toBe('InvalidCiphertextException');
    expect(wrongContext.$metadata?.httpStatusCode).toBe(400);
    const wrongKey = await sdkError(kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: encryptionContext, KeyId: await newKey() })));
    expect(wrongKey.name).toBe('IncorrectKeyException');
  });

  it('GenerateDataKey (AES_256) and GenerateDataKeyWithoutPlaintext', async () => {
    const arn = await newKey();
    const gen = await kms.send(new GenerateDataKeyCommand({ KeyId: arn, KeySpec: 'AES_256', EncryptionContext: encryptionContext }));
    expect(gen.Plaintext?.length).toBe(32);
    expect(gen.KeyMaterialId).toMatch(/^[0-9a-f]{64}$/);
    const dec = await kms.send(new DecryptCommand({ CiphertextBlob: gen.CiphertextBlob, EncryptionContext: encryptionContext }));
    expect(dec.Plaintext).toEqual(gen.Plaintext);
    const bare = await kms.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: arn, NumberOfBytes: 16 }));
    expect(bare.CiphertextBlob!.length).toBeGreaterThan(16);
    expect((await kms.send(new DecryptCommand({ CiphertextBlob: bare.CiphertextBlob }))).Plaintext?.length).toBe(16);
  });

  it('RotateKeyOnDemand and ReEncrypt: old and new ciphertexts decrypt, under their own key material', async () => {
    const arn = await newKey();
    const before = await kms.send(new EncryptCommand({ KeyId: arn, Plaintext: new Uint8Array([7, 7, 7]), EncryptionContext: encryptionContext }));
    await kms.send(new RotateKeyOnDemandCommand({ KeyId: arn }));
    const re = await kms.send(
      new ReEncryptCommand({ CiphertextBlob: before.CiphertextBlob, SourceEncryptionContext: encryptionContext, DestinationKeyId: arn, DestinationEncryptionContext: { moved: 'yes' } }),
    );
    expect(re.SourceKeyId).toBe(arn);
    expect(re.SourceKeyMaterialId).not.toBe(re.DestinationKeyMaterialId);
    expect((await kms.send(new DecryptCommand({ CiphertextBlob: re.CiphertextBlob, EncryptionContext: { moved: 'yes' } }))).Plaintext).toEqual(new Uint8Array([7, 7, 7]));
    expect((await kms.send(new DecryptCommand({ CiphertextBlob: before.CiphertextBlob, EncryptionContext: encryptionContext }))).Plaintext).toEqual(new Uint8Array([7, 7, 7]));
  });

  it('DisableKey, EnableKey, ScheduleKeyDeletion, aliases', async () => {
    const arn = await newKey();
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/sdk-test', TargetKeyId: arn }));
    expect((await kms.send(new DescribeKeyCommand({ KeyId: 'alias/sdk-test' }))).KeyMetadata?.Arn).toBe(arn);
    await kms.send(new DisableKeyCommand({ KeyId: arn }));
    expect((await kms.send(new DescribeKeyCommand({ KeyId: arn }))).KeyMetadata?.KeyState).toBe('Disabled');
    expect((await sdkError(kms.send(new EncryptCommand({ KeyId: 'alias/sdk-test', Plaintext: new Uint8Array([1]) })))).name).toBe('DisabledException');
    await kms.send(new EnableKeyCommand({ KeyId: arn }));
    await kms.send(new EncryptCommand({ KeyId: arn, Plaintext: new Uint8Array([1]) }));
    const scheduled = await kms.send(new ScheduleKeyDeletionCommand({ KeyId: arn, PendingWindowInDays: 7 }));
    expect(scheduled).toMatchObject({ KeyId: arn, KeyState: 'PendingDeletion', PendingWindowInDays: 7 });
    expect(scheduled.DeletionDate).toBeInstanceOf(Date);
    expect((await sdkError(kms.send(new EncryptCommand({ KeyId: arn, Plaintext: new Uint8Array([1]) })))).name).toBe('KMSInvalidStateException');
    expect((await sdkError(kms.send(new DescribeKeyCommand({ KeyId: 'alias/none' })))).name).toBe('NotFoundException');
  });

  it('refuses the SDK with a wrong secret (InvalidSignatureException) or an unknown key id (UnrecognizedClientException)', async () => {
    const clientWith = (accessKeyId: string, secretAccessKey: string) => new KMSClient({ endpoint: server.url, region: server.region, credentials: { accessKeyId, secretAccessKey }, maxAttempts: 1 });
    const bad = clientWith(server.accessKeyId, `${server.secretAccessKey}x`);
    const e1 = await sdkError(bad.send(new CreateKeyCommand({})));
    expect(e1.name).toBe('InvalidSignatureException');
    expect(e1.$metadata?.httpStatusCode).toBe(400);
    const unknown = clientWith('AKIAUNKNOWNKEY000000', server.secretAccessKey);
    expect((await sdkError(unknown.send(new CreateKeyCommand({})))).name).toBe('UnrecognizedClientException');
    bad.destroy();
    unknown.destroy();
  });
});

describe('AwsKmsProvider and the AWS SDK interoperate', () => {
  let arn: string;
  let provider: AwsKmsProvider;
  beforeAll(async () => {
    arn = await newKey();
    provider = new AwsKmsProvider({ keyId: arn, region: server.region, endpoint: server.url, credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey } });
  });

  it('a DEK the SDK encrypts under the vecseal encryption context is unwrapped by the provider', async () => {
    const dek = crypto.getRandomValues(new Uint8Array(32));
    const enc = await kms.send(new EncryptCommand({ KeyId: arn, Plaintext: dek, EncryptionContext: awsEncryptionContext(ctx) }));
    const wrapped = await sealWrappedKey('aws-kms', enc.KeyId!, { bytes: enc.CiphertextBlob!, algorithm: 'AWS-KMS' }, ctx);
    expect(await provider.unwrap(wrapped, ctx)).toEqual(dek);
    const gen = await kms.send(new GenerateDataKeyCommand({ KeyId: arn, KeySpec: 'AES_256', EncryptionContext: awsEncryptionContext(ctx) }));
    const generated = await sealWrappedKey('aws-kms', gen.KeyId!, { bytes: gen.CiphertextBlob!, algorithm: 'AWS-KMS', kekVersion: gen.KeyMaterialId }, ctx);
    expect(await provider.unwrap(generated, ctx)).toEqual(gen.Plaintext);
  });

  it('a DEK the provider wraps (or generates) is decrypted by the SDK under the same encryption context only', async () => {
    const dek = crypto.getRandomValues(new Uint8Array(32));
    const wrapped = await provider.wrap(dek, ctx);
    const dec = await kms.send(new DecryptCommand({ CiphertextBlob: wrapped.bytes, KeyId: arn, EncryptionContext: awsEncryptionContext(ctx) }));
    expect(dec.Plaintext).toEqual(dek);
    const other = await sdkError(kms.send(new DecryptCommand({ CiphertextBlob: wrapped.bytes, EncryptionContext: awsEncryptionContext({ ...ctx, keyVersion: 2 }) })));
    expect(other.name).toBe('InvalidCiphertextException');
    const generated = await provider.generateDataKey(ctx);
    const rewrapped = await provider.rewrap(generated.wrapped, ctx);
    expect((await kms.send(new DecryptCommand({ CiphertextBlob: rewrapped.bytes, EncryptionContext: awsEncryptionContext(ctx) }))).Plaintext).toEqual(generated.dek);
  });
});
