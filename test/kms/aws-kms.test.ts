/**
 * AwsKmsProvider against the local AWS KMS (test/kms/servers/aws-kms.server.ts, which verifies SigV4
 * on every request): the conformance suite, then what is particular to AWS (endpoints, signing,
 * credentials, key id forms, key material ids, error mapping). Portable: Node and browsers.
 */
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { AuthenticationError, InvalidInputError, KeyStateError, ProviderError } from '../../src/errors.js';
import { callAwsJson, type AwsCredentials } from '../../src/kms/_aws-sigv4.js';
import { fromBase64, toBase64 } from '../../src/kms/_base64.js';
import { AwsKmsProvider, awsEncryptionContext, awsKmsEndpoint, type AwsKmsProviderOptions } from '../../src/kms/aws-kms.js';
import type { ProviderOptions, WrapContext } from '../../src/kms/provider.js';
import { runProviderSuite } from './_provider-suite.js';
import { httpFaults } from './servers/_http-faults.js';
import { verifySigV4 } from './servers/_sigv4-verify.js';

const url = inject('awsKmsUrl');
const region = inject('awsRegion');
const longTerm: AwsCredentials = { accessKeyId: inject('awsAccessKeyId'), secretAccessKey: inject('awsSecretAccessKey') };

/** A signed KMS call with the long-term test key (key administration the provider does not do). */
async function admin(op: string, body: Record<string, unknown>): Promise<Record<string, any>> {
  const r = await callAwsJson({ provider: 'test', url, region, service: 'kms', target: `TrentService.${op}`, body, credentials: longTerm, signal: AbortSignal.timeout(10_000) });
  if (r.status !== 200) throw new Error(`${op} failed: HTTP ${r.status} ${JSON.stringify(r.json)}`);
  return (r.json ?? {}) as Record<string, any>;
}

const createKey = async (): Promise<string> => (await admin('CreateKey', { Description: 'vecseal test' })).KeyMetadata.Arn as string;

/** Temporary credentials from the server's test-only control path. */
async function mintSession(): Promise<AwsCredentials> {
  const minted = (await (await fetch(`${url}/__sts`, { method: 'POST' })).json()) as Record<string, string>;
  return { accessKeyId: minted.AccessKeyId!, secretAccessKey: minted.SecretAccessKey!, sessionToken: minted.SessionToken! };
}

async function revoke(credentials: AwsCredentials): Promise<void> {
  await fetch(`${url}/__sts/revoke`, { method: 'POST', body: JSON.stringify({ AccessKeyId: credentials.accessKeyId }) });
}

function provider(keyId: string, credentials: AwsKmsProviderOptions['credentials'], options: ProviderOptions = {}): AwsKmsProvider {
  return new AwsKmsProvider({ keyId, region, endpoint: url, credentials, ...options });
}

const ctx: WrapContext = { dekId: 'dek/aws/1', keyVersion: 3, collection: 'docs', tenant: 'acme' };
const newDek = (): Uint8Array => crypto.getRandomValues(new Uint8Array(32));

async function failure(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
}

runProviderSuite(
  'aws-kms',
  {
    faults: { kinds: ['hang', 'throttle', 'error500', 'close'] },
    keyStates: true,
    // ScheduleKeyDeletion is all KMS allows: 7..30 days, checked before the request.
    destroyKek: { state: 'pending-deletion', options: { pendingWindowInDays: 7 }, badOptions: [{ pendingWindowInDays: 6 }, { pendingWindowInDays: 31 }, { pendingWindowInDays: 7.5 }] },
  },
  async () => {
  const session = await mintSession();
  const [keyArn, otherArn] = [await createKey(), await createKey()];
  return {
    provider: provider(keyArn, session),
    otherKek: provider(otherArn, session),
    withOptions: (options) => provider(keyArn, session, options),
    faults: httpFaults(url),
    rotateKek: async () => void (await admin('RotateKeyOnDemand', { KeyId: keyArn })),
    disposableKek: async () => {
      const arn = await createKey();
      return {
        provider: provider(arn, session),
        disable: async () => void (await admin('DisableKey', { KeyId: arn })),
        destroy: async () => void (await admin('ScheduleKeyDeletion', { KeyId: arn, PendingWindowInDays: 7 })),
        destroyedState: 'pending-deletion',
      };
    },
    secrets: [session.secretAccessKey, session.sessionToken!, longTerm.secretAccessKey],
  };
  },
);

describe('AwsKmsProvider: AWS specifics', () => {
  let keyArn: string;
  let otherArn: string;
  beforeAll(async () => {
    [keyArn, otherArn] = [await createKey(), await createKey()];
  });

  it('sends a signed TrentService.Encrypt to the region endpoint (fetch override, no network)', async () => {
    const requests: Request[] = [];
    const fakeFetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
      requests.push(new Request(input, init));
      return new Response(JSON.stringify({ CiphertextBlob: toBase64(new Uint8Array([1, 2, 3])), KeyId: 'arn:aws:kms:eu-west-1:111122223333:key/k-1' }), { status: 200 });
    }) as typeof fetch;
    const creds = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'session-token-1' };
    const p = new AwsKmsProvider({ keyId: 'alias/app', region: 'eu-west-1', credentials: creds, fetch: fakeFetch });
    expect(p.endpoint).toBe('https://kms.eu-west-1.amazonaws.com/');
    expect(awsKmsEndpoint('cn-north-1')).toBe('https://kms.cn-north-1.amazonaws.com.cn');
    const dek = newDek();
    const wrapped = await p.wrap(dek, ctx);
    expect(wrapped.kekId).toBe('arn:aws:kms:eu-west-1:111122223333:key/k-1');
    expect(wrapped.kekVersion).toBeUndefined();
    const [req] = requests;
    expect(requests.length).toBe(1);
    expect(req!.method).toBe('POST');
    expect(req!.url).toBe('https://kms.eu-west-1.amazonaws.com/');
    expect(req!.headers.get('x-amz-target')).toBe('TrentService.Encrypt');
    expect(req!.headers.get('content-type')).toBe('application/x-amz-json-1.1');
    expect(req!.headers.get('x-amz-security-token')).toBe('session-token-1');
    expect(req!.headers.get('authorization')).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/kms\/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, Signature=[0-9a-f]{64}$/,
    );
    const body = await req!.text();
    const sent = JSON.parse(body) as { KeyId: string; Plaintext: string; EncryptionContext: Record<string, string> };
    expect(sent.KeyId).toBe('alias/app');
    expect(fromBase64(sent.Plaintext)).toEqual(dek);
    expect(sent.EncryptionContext).toEqual({ 'vecseal:dek': 'dek/aws/1', 'vecseal:version': '3', 'vecseal:collection': 'docs', 'vecseal:tenant': 'acme' });
    // The signature is the one AWS would compute (the server's independent verifier, with AWS's Host).
    const headers: [string, string][] = [['host', 'kms.eu-west-1.amazonaws.com']];
    req!.headers.forEach((v, n) => headers.push([n, v]));
    const lookup = (id: string) => (id === creds.accessKeyId ? creds : undefined);
    expect(await verifySigV4({ method: 'POST', uri: '/', headers, body }, { region: 'eu-west-1', service: 'kms', lookup })).toEqual({ ok: true, accessKeyId: 'AKIDEXAMPLE' });
    expect(await verifySigV4({ method: 'POST', uri: '/', headers, body: body.replace('alias/app', 'alias/evil') }, { region: 'eu-west-1', service: 'kms', lookup })).toMatchObject({ ok: false });
  });

  it('checks its options, naming fields and never the secret', () => {
    const ok = { keyId: 'alias/app', region: 'eu-west-1', credentials: longTerm };
    for (const bad of [
      { ...ok, keyId: '' },
      { ...ok, region: 'EU West' },
      { ...ok, endpoint: 'ftp://kms.example' },
      { ...ok, endpoint: 'not a url' },
      { ...ok, credentials: { accessKeyId: longTerm.accessKeyId } },
      { ...ok, credentials: { ...longTerm, sessionToken: 5 } },
      { ...ok, timeoutMs: 0 },
    ]) {
      let err: unknown;
      try {
        new AwsKmsProvider(bad as AwsKmsProviderOptions);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(bad.keyId)).toBeInstanceOf(InvalidInputError);
      expect(String((err as Error).message)).not.toContain(longTerm.secretAccessKey);
    }
  });

  it('leaves vecseal:tenant out for single-tenant contexts', () => {
    expect(awsEncryptionContext({ ...ctx, tenant: '' })).toEqual({ 'vecseal:dek': 'dek/aws/1', 'vecseal:version': '3', 'vecseal:collection': 'docs' });
  });

  it('uses a custom endpoint, signed for the configured region; a wrong region is refused by the service', async () => {
    const p = new AwsKmsProvider({ keyId: keyArn, region, endpoint: `${url}/`, credentials: longTerm });
    expect((await p.describe()).details?.arn).toBe(keyArn);
    const wrongRegion = new AwsKmsProvider({ keyId: keyArn, region: 'eu-west-1', endpoint: url, credentials: longTerm });
    const err = await failure(wrongRegion.wrap(newDek(), ctx));
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ kind: 'rejected', providerCode: 'InvalidSignatureException', status: 400, attempts: 1 });
  });

  it('is refused by the server when the signature or the key is wrong, without retrying', async () => {
    const badSecret = provider(keyArn, { ...longTerm, secretAccessKey: `${longTerm.secretAccessKey.slice(0, -1)}X` });
    const e1 = await failure(badSecret.wrap(newDek(), ctx));
    expect(e1).toMatchObject({ kind: 'rejected', providerCode: 'InvalidSignatureException', attempts: 1 });
    expect(String(e1.message)).toContain('does not match the signature');
    const unknownKey = provider(keyArn, { accessKeyId: 'AKIAUNKNOWNKEY000000', secretAccessKey: longTerm.secretAccessKey });
    expect(await failure(unknownKey.wrap(newDek(), ctx))).toMatchObject({ kind: 'rejected', providerCode: 'UnrecognizedClientException' });
    const unsigned = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.DescribeKey' }, body: JSON.stringify({ KeyId: keyArn }) });
    expect(unsigned.status).toBe(400);
    expect(await unsigned.json()).toMatchObject({ __type: 'MissingAuthenticationTokenException' });
    for (const e of [e1]) expect(JSON.stringify(e) + e.message + e.stack).not.toContain(longTerm.secretAccessKey.slice(0, 20));
  });

  it('calls the credentials supplier before every request and follows rotated temporary credentials', async () => {
    const [first, second] = [await mintSession(), await mintSession()];
    let current = first;
    let calls = 0;
    const p = provider(keyArn, async () => {
      calls++;
      return current;
    });
    const dek = newDek();
    const wrapped = await p.wrap(dek, ctx);
    expect(calls).toBe(1);
    await revoke(first);
    expect(await failure(p.unwrap(wrapped, ctx))).toMatchObject({ kind: 'rejected', providerCode: 'ExpiredTokenException' });
    expect(calls).toBe(2);
    current = second;
    expect(await p.unwrap(wrapped, ctx)).toEqual(dek);
    expect(calls).toBe(3);
    const broken = provider(keyArn, async () => {
      throw new Error('no credentials today');
    });
    expect(await failure(broken.wrap(newDek(), ctx))).toMatchObject({ kind: 'rejected', message: 'aws-kms Encrypt: the credentials supplier failed' });
  });

  it('accepts the key ARN, key id and alias forms of one key; KMS refuses another key behind an alias', async () => {
    const alias = `alias/vecseal-${crypto.randomUUID()}`;
    await admin('CreateAlias', { AliasName: alias, TargetKeyId: keyArn });
    const [byArn, byId, byAlias] = [keyArn, keyArn.split('/').pop()!, alias].map((k) => provider(k, longTerm));
    const dek = newDek();
    const viaAlias = await byAlias!.wrap(dek, ctx);
    expect(viaAlias.kekId).toBe(keyArn);
    expect(await byArn!.unwrap(viaAlias, ctx)).toEqual(dek);
    expect(await byId!.unwrap(viaAlias, ctx)).toEqual(dek);
    expect(await byAlias!.unwrap(await byId!.wrap(dek, ctx), ctx)).toEqual(dek);
    const other = await provider(otherArn, longTerm).wrap(dek, ctx);
    expect(await failure(byAlias!.unwrap(other, ctx))).toMatchObject({ reason: 'wrong-key' });
    expect(await failure(byId!.unwrap(other, ctx))).toMatchObject({ reason: 'wrong-key' });
  });

  it('records the key material id of GenerateDataKey and ReEncrypt as kekVersion; describe reports the current one', async () => {
    const p = provider(keyArn, longTerm);
    const before = await p.describe();
    expect(before.kekVersion).toMatch(/^[0-9a-f]{64}$/);
    const { dek, wrapped } = await p.generateDataKey(ctx);
    expect(wrapped.kekVersion).toBe(before.kekVersion);
    await admin('RotateKeyOnDemand', { KeyId: keyArn });
    const after = await p.describe();
    expect(after.kekVersion).not.toBe(before.kekVersion);
    const rewrapped = await p.rewrap(wrapped, ctx);
    expect(rewrapped.kekVersion).toBe(after.kekVersion);
    expect(await p.unwrap(rewrapped, ctx)).toEqual(dek);
    expect(await p.unwrap(wrapped, ctx)).toEqual(dek);
  });

  describe('maps KMS errors (fetch override)', () => {
    const answering = (...answers: [number, unknown][]): { fetch: typeof fetch; targets: string[] } => {
      const targets: string[] = [];
      const fn = (async (_input: RequestInfo | URL, init?: RequestInit) => {
        targets.push(new Headers(init?.headers).get('x-amz-target') ?? '');
        const [status, body] = answers[Math.min(targets.length, answers.length) - 1]!;
        return new Response(JSON.stringify(body), { status });
      }) as typeof fetch;
      return { fetch: fn, targets };
    };
    const fake = (f: typeof fetch) => new AwsKmsProvider({ keyId: 'arn:aws:kms:eu-west-1:111122223333:key/k-1', region: 'eu-west-1', credentials: longTerm, fetch: f, retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 } });

    const cases: [string, number, string, Record<string, unknown>][] = [
      ['ThrottlingException', 400, 'throttled', { attempts: 2 }],
      ['LimitExceededException', 400, 'throttled', { attempts: 2 }],
      ['KMSInternalException', 500, 'unavailable', { attempts: 2 }],
      ['DependencyTimeoutException', 503, 'unavailable', { attempts: 2 }],
      ['NotFoundException', 400, 'rejected', { attempts: 1 }],
      ['AccessDeniedException', 400, 'rejected', { attempts: 1 }],
      ['ValidationException', 400, 'rejected', { attempts: 1 }],
    ];
    for (const [code, status, kind, extra] of cases) {
      it(`${code} (HTTP ${status}) -> ProviderError ${kind}`, async () => {
        const f = answering([status, { __type: code, message: 'said by KMS' }]);
        const err = await failure(fake(f.fetch).wrap(newDek(), ctx));
        expect(err).toBeInstanceOf(ProviderError);
        expect(err).toMatchObject({ kind, providerCode: code, ...extra });
      });
    }

    it('namespaced codes; DisabledException and KMSInvalidStateException -> KeyStateError; refused ciphertext -> AuthenticationError', async () => {
      const disabled = await failure(fake(answering([400, { __type: 'com.amazonaws.kms#DisabledException', message: 'k-1 is disabled.' }]).fetch).wrap(newDek(), ctx));
      expect(disabled).toBeInstanceOf(KeyStateError);
      expect(disabled.state).toBe('disabled');
      const pending = await failure(fake(answering([400, { __type: 'KMSInvalidStateException', message: 'k-1 is pending deletion.' }]).fetch).wrap(newDek(), ctx));
      expect(pending).toMatchObject({ state: 'pending-deletion' });
      // No state in the message: the provider asks DescribeKey.
      const f = answering([400, { __type: 'KMSInvalidStateException' }], [200, { KeyMetadata: { KeyState: 'PendingDeletion' } }]);
      expect(await failure(fake(f.fetch).wrap(newDek(), ctx))).toMatchObject({ state: 'pending-deletion' });
      expect(f.targets).toEqual(['TrentService.Encrypt', 'TrentService.DescribeKey']);
      const wrapped = await fake(answering([200, { CiphertextBlob: 'AQID', KeyId: 'arn:aws:kms:eu-west-1:111122223333:key/k-1' }]).fetch).wrap(newDek(), ctx);
      for (const code of ['InvalidCiphertextException', 'IncorrectKeyException']) {
        const err = await failure(fake(answering([400, { __type: code }]).fetch).unwrap(wrapped, ctx));
        expect(err).toBeInstanceOf(AuthenticationError);
        expect(err.reason).toBe('wrong-key');
      }
    });
  });
});
