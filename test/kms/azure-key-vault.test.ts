/**
 * AzureKeyVaultProvider against the local Key Vault and Managed HSM (servers/azure-key-vault.server.ts),
 * in Node and the browsers: the conformance suite for RSA-OAEP-256 (vault) and A256KW (Managed HSM),
 * then what is Azure's own - the kid's version recorded and used for unwrap across rotations, pinned
 * versions, the binding tag, soft delete / recover / purge, tokens and scopes, and how Key Vault's
 * error bodies map to vecseal's errors. That the ciphertexts are real OAEP-SHA256 and RFC 3394 is
 * checked with node:crypto and Wycheproof vectors in azure-key-vault.node.test.ts.
 */
import { describe, expect, inject, it } from 'vitest';
import { AuthenticationError, InvalidInputError, KeyStateError, ProviderError } from '../../src/errors.js';
import { AzureKeyVaultProvider, type AzureKeyVaultProviderOptions, type AzureWrapAlgorithm } from '../../src/kms/azure-key-vault.js';
import { sealWrappedKey, type WrapContext } from '../../src/kms/provider.js';
import { azureKeyVaultAdmin, uniqueKeyName } from './_azure-key-vault-admin.js';
import { runProviderSuite, type ProviderHarness } from './_provider-suite.js';
import { httpFaults } from './servers/_http-faults.js';

type Flavour = 'vault' | 'managed-hsm';

const FLAVOURS: Record<Flavour, { algorithm: AzureWrapAlgorithm; key: Record<string, unknown>; blobBytes: number }> = {
  vault: { algorithm: 'RSA-OAEP-256', key: { kty: 'RSA', key_size: 2048 }, blobBytes: 256 },
  'managed-hsm': { algorithm: 'A256KW', key: { kty: 'oct-HSM', key_size: 256 }, blobBytes: 40 },
};

const ctx: WrapContext = { dekId: 'dek/azure/1', keyVersion: 1, collection: 'docs', tenant: 'acme' };

function setup(flavour: Flavour) {
  const url = inject(flavour === 'vault' ? 'azureKeyVaultUrl' : 'azureManagedHsmUrl');
  const token = inject('azureAccessToken');
  const { algorithm, key } = FLAVOURS[flavour];
  const admin = azureKeyVaultAdmin(url, token);
  const provider = (name: string, options: Partial<AzureKeyVaultProviderOptions> = {}): AzureKeyVaultProvider =>
    new AzureKeyVaultProvider({ keyUrl: `${url}/keys/${name}`, algorithm, getAccessToken: async () => token, ...options });
  const newKey = (name: string) => admin.createKey(name, key);
  return { url, token, admin, provider, newKey, algorithm };
}

function harness(flavour: Flavour): () => Promise<ProviderHarness> {
  return async () => {
    const { url, token, admin, provider, newKey } = setup(flavour);
    const name = uniqueKeyName(`suite-${flavour}`);
    const other = uniqueKeyName(`other-${flavour}`);
    await newKey(name);
    await newKey(other);
    return {
      provider: provider(name),
      otherKek: provider(other),
      withOptions: (options) => provider(name, options),
      faults: httpFaults(url),
      // Creating a key under an existing name makes a new current version (Key Vault's rotation).
      rotateKek: async () => {
        await newKey(name);
      },
      disposableKek: async () => {
        const disposable = uniqueKeyName(`states-${flavour}`);
        const { version } = await newKey(disposable);
        return {
          provider: provider(disposable),
          disable: () => admin.setEnabled(disposable, version, false),
          // Soft delete alone leaves the key recoverable ('pending-deletion', tested below); purge destroys it.
          destroy: async () => {
            await admin.deleteKey(disposable);
            await admin.purge(disposable);
          },
          destroyedState: 'destroyed',
        };
      },
      secrets: [token],
    };
  };
}

// destroyKek with purge: the soft-deleted key is purged at once, so the KEK is destroyed (soft delete alone is tested below).
const features = { faults: { kinds: ['hang', 'throttle', 'error500', 'close'] as const }, keyStates: true as const, destroyKek: { state: 'destroyed' as const, options: { purge: true } } };
runProviderSuite('azure-key-vault (RSA-OAEP-256)', features, harness('vault'));
runProviderSuite('azure-managed-hsm (A256KW)', features, harness('managed-hsm'));

const randomDek = (): Uint8Array => crypto.getRandomValues(new Uint8Array(32));

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
}

describe('AzureKeyVaultProvider against the local vault and Managed HSM', () => {
  for (const flavour of ['vault', 'managed-hsm'] as const) {
    it(`${flavour}: wrapped bytes are the service's ciphertext and a 32-byte binding tag; kekVersion is the kid's version`, async () => {
      const { url, provider, newKey, algorithm } = setup(flavour);
      const name = uniqueKeyName('layout');
      const { version } = await newKey(name);
      const p = provider(name);
      expect(p.kekId).toBe(`${url}/keys/${name}`);
      const wrapped = await p.wrap(randomDek(), ctx);
      expect(wrapped.bytes.length).toBe(FLAVOURS[flavour].blobBytes + 32);
      expect(wrapped.algorithm).toBe(algorithm);
      expect(wrapped.kekVersion).toBe(version);
    });

    it(`${flavour}: unwrap calls the version that wrapped - old keys open after rotation and follow that version's state`, async () => {
      const { admin, provider, newKey } = setup(flavour);
      const name = uniqueKeyName('rotation');
      const v1 = (await newKey(name)).version;
      const p = provider(name);
      const dek = randomDek();
      const old = await p.wrap(dek, ctx);
      const v2 = (await newKey(name)).version;
      const current = await p.wrap(dek, ctx);
      expect([old.kekVersion, current.kekVersion]).toEqual([v1, v2]);
      expect(await p.unwrap(old, ctx)).toEqual(dek);
      // Disabling v1 alone stops the old key and not the new one: unwrap went to v1, not to the current version.
      await admin.setEnabled(name, v1, false);
      const err = await failure(p.unwrap(old, ctx));
      expect(err).toBeInstanceOf(KeyStateError);
      expect((err as KeyStateError).state).toBe('disabled');
      expect(await p.unwrap(current, ctx)).toEqual(dek);
      expect((await p.describe()).state).toBe('enabled');
      await admin.setEnabled(name, v1, true);
      const rewrapped = await p.rewrap(old, ctx);
      expect(rewrapped.kekVersion).toBe(v2);
      expect(await p.unwrap(rewrapped, ctx)).toEqual(dek);
    });

    it(`${flavour}: a keyUrl with a version pins new wraps to it after rotation`, async () => {
      const { url, token, newKey, algorithm } = setup(flavour);
      const name = uniqueKeyName('pinned');
      const v1 = (await newKey(name)).version;
      await newKey(name);
      const pinned = new AzureKeyVaultProvider({ keyUrl: `${url}/keys/${name}/${v1}`, algorithm, getAccessToken: async () => token });
      expect(pinned.kekId).toBe(`${url}/keys/${name}`);
      const dek = randomDek();
      const wrapped = await pinned.wrap(dek, ctx);
      expect(wrapped.kekVersion).toBe(v1);
      expect((await pinned.describe()).kekVersion).toBe(v1);
      expect(await pinned.unwrap(wrapped, ctx)).toEqual(dek);
    });

    it(`${flavour}: swapping binding tags between two wrapped keys is refused as wrong-context`, async () => {
      const { provider, newKey } = setup(flavour);
      const name = uniqueKeyName('tags');
      await newKey(name);
      const p = provider(name);
      const a = await p.wrap(randomDek(), ctx);
      const b = await p.wrap(randomDek(), ctx);
      const n = a.bytes.length;
      const swapped = new Uint8Array(a.bytes);
      swapped.set(b.bytes.subarray(n - 32), n - 32);
      // Same context, checksum recomputed: only the tag can tell that DEK A is not the DEK the tag was made for.
      const forged = await sealWrappedKey(a.provider, a.kekId, { ...a, bytes: swapped }, ctx);
      const err = await failure(p.unwrap(forged, ctx));
      expect(err).toBeInstanceOf(AuthenticationError);
      expect((err as AuthenticationError).reason).toBe('wrong-context');
    });

    it(`${flavour}: soft delete is pending-deletion (unwrap, wrap, describe); recover brings the key back; purge destroys it`, async () => {
      const { admin, provider, newKey } = setup(flavour);
      const name = uniqueKeyName('softdelete');
      await newKey(name);
      const p = provider(name);
      const dek = randomDek();
      const wrapped = await p.wrap(dek, ctx);
      await admin.deleteKey(name);
      for (const op of [() => p.unwrap(wrapped, ctx), () => p.wrap(randomDek(), ctx)]) {
        const err = await failure(op());
        expect(err).toBeInstanceOf(KeyStateError);
        expect((err as KeyStateError).state).toBe('pending-deletion');
        expect((err as Error).message).toMatch(/recoverable until \d{4}-/);
      }
      expect((await p.describe()).state).toBe('pending-deletion');
      await admin.recover(name);
      expect(await p.unwrap(wrapped, ctx)).toEqual(dek);
      await admin.deleteKey(name);
      await admin.purge(name);
      const gone = await failure(p.unwrap(wrapped, ctx));
      expect((gone as KeyStateError).state).toBe('destroyed');
      // Without a wrapped key as evidence that it existed, a missing key is just not found.
      const wrap = await failure(p.wrap(randomDek(), ctx));
      expect(wrap).toBeInstanceOf(ProviderError);
      expect((wrap as ProviderError).kind).toBe('rejected');
      expect((wrap as ProviderError).status).toBe(404);
      expect((await failure(p.describe())) as ProviderError).toMatchObject({ kind: 'rejected', status: 404, providerCode: 'KeyNotFound' });
    });

    it(`${flavour}: describe reports the current version, key type, size and recovery level, and a disabled key`, async () => {
      const { admin, provider, newKey, algorithm } = setup(flavour);
      const name = uniqueKeyName('describe');
      await newKey(name);
      const { version } = await newKey(name);
      const info = await provider(name).describe();
      expect(info).toMatchObject({ provider: 'azure-key-vault', kekVersion: version, state: 'enabled', algorithm, canUnwrap: true });
      expect(info.details).toMatchObject(
        flavour === 'vault'
          ? { keyType: 'RSA', keySize: 2048, recoveryLevel: 'Recoverable+Purgeable', recoverableDays: 90 }
          : { keyType: 'oct-HSM', recoveryLevel: 'CustomizedRecoverable+Purgeable' },
      );
      expect(String(info.details?.keyOps)).toContain('unwrapKey');
      expect(Date.parse(String(info.details?.created))).toBeGreaterThan(Date.parse('2020-01-01'));
      await admin.setEnabled(name, version, false);
      expect((await provider(name).describe()).state).toBe('disabled');
    });
  }

  it('a wrong token is refused (401) as rejected, without retry, and appears in no error', async () => {
    const { url, provider, newKey } = setup('vault');
    const name = uniqueKeyName('token');
    await newKey(name);
    const wrongToken = `wrong-token-${crypto.randomUUID()}`;
    const faults = httpFaults(url);
    const before = await faults.requests();
    const err = await failure(provider(name, { getAccessToken: async () => wrongToken }).wrap(randomDek(), ctx));
    expect(await faults.requests()).toBe(before + 1);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ kind: 'rejected', status: 401, providerCode: 'Unauthorized' });
    expect(`${(err as Error).message} ${(err as Error).stack} ${JSON.stringify(err)}`).not.toContain(wrongToken);
  });

  it('a 400 that is about the request (api-version), not the ciphertext, is rejected rather than taken for a wrong key', async () => {
    const { provider, newKey } = setup('vault');
    const name = uniqueKeyName('apiversion');
    await newKey(name);
    const wrapped = await provider(name).wrap(randomDek(), ctx);
    const err = await failure(provider(name, { apiVersion: '6.0' }).unwrap(wrapped, ctx));
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ kind: 'rejected', status: 400 });
  });
});

/** A fetch that answers every request from `answer`, recording what was asked. */
function stubFetch(answer: (url: URL, init: RequestInit) => { status: number; body?: unknown }) {
  const calls: { url: URL; init: RequestInit }[] = [];
  const fetchStub = (async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = new URL(String(input));
    calls.push({ url, init });
    const { status, body } = answer(url, init);
    return new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
  return { fetchStub, calls };
}

const VAULT_KEY = 'https://contoso.vault.azure.net/keys/kek';
const V1 = '0123456789abcdef0123456789abcdef';
const fast = { timeoutMs: 2000, retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 } };

function stubbed(answer: Parameters<typeof stubFetch>[0], options: Partial<AzureKeyVaultProviderOptions> = {}) {
  const { fetchStub, calls } = stubFetch(answer);
  const provider = new AzureKeyVaultProvider({ keyUrl: VAULT_KEY, getAccessToken: async () => 'stub-token-123456', fetch: fetchStub, ...fast, ...options });
  return { provider, calls };
}

/** A wrapped key this provider would accept, with arbitrary service bytes (the stub never decrypts). */
async function someWrappedKey(): Promise<Awaited<ReturnType<typeof sealWrappedKey>>> {
  return sealWrappedKey('azure-key-vault', VAULT_KEY, { bytes: new Uint8Array(256 + 32).fill(7), algorithm: 'RSA-OAEP-256', kekVersion: V1 }, ctx);
}

const kvError = (code: string, message: string, inner?: string) => ({ error: { code, message, ...(inner ? { innererror: { code: inner } } : {}) } });

describe('AzureKeyVaultProvider request shapes and error mapping (stubbed fetch)', () => {
  it('sends wrapkey to the versionless key, unwrapkey to the kid version, with the bearer token and api-version', async () => {
    const dek = randomDek();
    const { provider, calls } = stubbed((url) =>
      url.pathname.endsWith('/wrapkey')
        ? { status: 200, body: { kid: `https://contoso.vault.azure.net/keys/kek/${V1}`, value: 'AAAA' } }
        : { status: 200, body: { kid: `https://contoso.vault.azure.net/keys/KEK/${V1}`, value: btoa(String.fromCharCode(...dek)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '') } },
    );
    const wrapped = await provider.wrap(dek, ctx);
    expect(wrapped.kekVersion).toBe(V1);
    expect(await provider.unwrap(wrapped, ctx)).toEqual(dek);
    expect(calls.map((c) => `${c.init.method} ${c.url.pathname}${c.url.search}`)).toEqual([
      'POST /keys/kek/wrapkey?api-version=7.4',
      `POST /keys/kek/${V1}/unwrapkey?api-version=7.4`,
    ]);
    expect((calls[0]!.init.headers as Record<string, string>).authorization).toBe('Bearer stub-token-123456');
    expect(JSON.parse(String(calls[1]!.init.body))).toEqual({ alg: 'RSA-OAEP-256', value: 'AAAA' });
  });

  it('asks the token supplier once per request, for the scope of the key\'s service and cloud, with the attempt signal', async () => {
    for (const [keyUrl, scope] of [
      ['https://contoso.vault.azure.net/keys/kek', 'https://vault.azure.net/.default'],
      ['https://contoso.managedhsm.azure.net/keys/kek', 'https://managedhsm.azure.net/.default'],
      ['https://contoso.vault.azure.cn/keys/kek', 'https://vault.azure.cn/.default'],
    ] as const) {
      const asked: { scope: string; signal: AbortSignal }[] = [];
      const { provider } = stubbed(() => ({ status: 503, body: kvError('ServiceUnavailable', 'busy') }), {
        keyUrl,
        getAccessToken: async (request) => {
          asked.push(request);
          return 'stub-token-123456';
        },
      });
      await failure(provider.wrap(randomDek(), ctx));
      expect(asked.length).toBe(2); // two attempts, one token each
      expect(asked.every((a) => a.scope === scope && a.signal instanceof AbortSignal)).toBe(true);
    }
    // An explicit scope wins: the supplier only answers for it, and the request goes out (and meets an empty answer).
    const { provider, calls } = stubbed(() => ({ status: 200 }), {
      scope: 'api://custom/.default',
      getAccessToken: async ({ scope }) => {
        if (scope !== 'api://custom/.default') throw new Error('unexpected scope');
        return 'ok-token';
      },
    });
    expect(await failure(provider.describe())).toMatchObject({ kind: 'protocol' });
    expect(calls.length).toBe(1);
  });

  it('a token supplier that fails or returns no token is rejected before any request', async () => {
    for (const getAccessToken of [async () => Promise.reject(new Error('no credential')), async () => '', async () => 'two words', async () => 42 as never]) {
      const { provider, calls } = stubbed(() => ({ status: 200 }), { getAccessToken });
      const err = await failure(provider.wrap(randomDek(), ctx));
      expect(err).toBeInstanceOf(ProviderError);
      expect((err as ProviderError).kind).toBe('rejected');
      expect(calls.length).toBe(0);
    }
  });

  it('maps Key Vault error bodies to vecseal errors', async () => {
    const wrapped = await someWrappedKey();
    const cases: { op: 'wrap' | 'unwrap' | 'describe'; status: number; body: unknown; expect: (err: unknown) => void }[] = [
      {
        op: 'unwrap', status: 400, body: kvError('BadParameter', 'Error occurred while decoding OAEP padding.'),
        expect: (err) => expect(err).toMatchObject({ name: 'AuthenticationError', reason: 'wrong-key' }),
      },
      {
        op: 'unwrap', status: 400, body: kvError('BadParameter', "Content of 'value' is not base64url."),
        expect: (err) => expect(err).toMatchObject({ name: 'ProviderError', kind: 'rejected', status: 400, providerCode: 'BadParameter' }),
      },
      {
        op: 'wrap', status: 400, body: kvError('BadParameter', 'Error occurred while decoding OAEP padding.'),
        expect: (err) => expect(err).toMatchObject({ name: 'ProviderError', kind: 'rejected' }),
      },
      {
        op: 'unwrap', status: 403, body: kvError('Forbidden', 'Operation unwrapKey is not allowed on a disabled key.', 'KeyDisabled'),
        expect: (err) => expect(err).toMatchObject({ name: 'KeyStateError', state: 'disabled' }),
      },
      {
        op: 'wrap', status: 403, body: kvError('Forbidden', 'Operation is not allowed on a disabled key.'),
        expect: (err) => expect(err).toMatchObject({ name: 'KeyStateError', state: 'disabled' }),
      },
      {
        op: 'wrap', status: 403, body: kvError('Forbidden', 'The user, group or application does not have keys wrapKey permission.', 'ForbiddenByPolicy'),
        expect: (err) => {
          expect(err).toMatchObject({ name: 'ProviderError', kind: 'rejected', status: 403, providerCode: 'Forbidden' });
          expect((err as Error).message).toContain('ForbiddenByPolicy');
        },
      },
      {
        op: 'describe', status: 401, body: kvError('Unauthorized', 'AKV10022: Invalid audience.'),
        expect: (err) => expect(err).toMatchObject({ name: 'ProviderError', kind: 'rejected', status: 401 }),
      },
      {
        op: 'wrap', status: 429, body: kvError('Throttled', 'Too many requests.'),
        expect: (err) => expect(err).toMatchObject({ name: 'ProviderError', kind: 'throttled', attempts: 2 }),
      },
      {
        op: 'unwrap', status: 503, body: undefined,
        expect: (err) => expect(err).toMatchObject({ name: 'ProviderError', kind: 'unavailable', status: 503, attempts: 2 }),
      },
    ];
    for (const c of cases) {
      const { provider } = stubbed(() => ({ status: c.status, body: c.body }));
      const run = c.op === 'wrap' ? provider.wrap(randomDek(), ctx) : c.op === 'unwrap' ? provider.unwrap(wrapped, ctx) : provider.describe();
      c.expect(await failure(run));
    }
  });

  it('describe turns a 403 KeyDisabled on GET into state disabled', async () => {
    const { provider } = stubbed(() => ({ status: 403, body: kvError('Forbidden', 'Operation get is not allowed on a disabled key.', 'KeyDisabled') }));
    expect(await provider.describe()).toMatchObject({ state: 'disabled', kekId: VAULT_KEY });
  });

  it('a 404 on unwrap asks what became of the key: another key\'s version, soft-deleted, or purged', async () => {
    const wrapped = await someWrappedKey();
    const notFound = { status: 404, body: kvError('KeyNotFound', 'A key with (name/id) kek was not found in this key vault.') };
    const live = { status: 200, body: { key: { kid: `https://contoso.vault.azure.net/keys/kek/${'f'.repeat(32)}`, kty: 'RSA' }, attributes: { enabled: true } } };
    const deleted = { status: 200, body: { recoveryId: 'https://contoso.vault.azure.net/deletedkeys/kek', scheduledPurgeDate: 1_900_000_000 } };
    for (const [keyAnswer, deletedAnswer, check] of [
      [live, notFound, (err: unknown) => expect(err).toMatchObject({ name: 'AuthenticationError', reason: 'wrong-key' })],
      [notFound, deleted, (err: unknown) => expect(err).toMatchObject({ name: 'KeyStateError', state: 'pending-deletion' })],
      [notFound, notFound, (err: unknown) => expect(err).toMatchObject({ name: 'KeyStateError', state: 'destroyed' })],
      [{ status: 403, body: kvError('Forbidden', 'no keys get permission') }, deleted, (err: unknown) => expect(err).toMatchObject({ name: 'ProviderError', kind: 'rejected', status: 404 })],
    ] as const) {
      const { provider, calls } = stubbed((url, init) =>
        init.method === 'POST' ? notFound : url.pathname.startsWith('/deletedkeys/') ? deletedAnswer : keyAnswer,
      );
      check(await failure(provider.unwrap(wrapped, ctx)));
      expect(calls[0]!.url.pathname).toBe(`/keys/kek/${V1}/unwrapkey`);
    }
  });

  it('refuses answers that do not follow the protocol, and wipes a DEK that came for the wrong version', async () => {
    const wrapped = await someWrappedKey();
    for (const [op, body] of [
      ['wrap', { kid: `https://contoso.vault.azure.net/keys/other/${V1}`, value: 'AAAA' }],
      ['wrap', { kid: 'not a url', value: 'AAAA' }],
      ['wrap', { kid: `https://contoso.vault.azure.net/keys/kek/${V1}` }],
      ['wrap', { kid: `https://contoso.vault.azure.net/keys/kek/${V1}`, value: '***' }],
      ['unwrap', { kid: `https://contoso.vault.azure.net/keys/kek/${'e'.repeat(32)}`, value: 'A'.repeat(43) }],
      ['describe', { key: { kid: 'https://contoso.vault.azure.net/keys/kek' }, attributes: {} }],
    ] as const) {
      const { provider } = stubbed(() => ({ status: 200, body }));
      const run = op === 'wrap' ? provider.wrap(randomDek(), ctx) : op === 'unwrap' ? provider.unwrap(wrapped, ctx) : provider.describe();
      expect(await failure(run)).toMatchObject({ name: 'ProviderError', kind: 'protocol' });
    }
  });

  it('checks its options', () => {
    const getAccessToken = async (): Promise<string> => 'token';
    for (const options of [
      { keyUrl: 'http://contoso.vault.azure.net/keys/kek', getAccessToken },
      { keyUrl: 'https://contoso.vault.azure.net/secrets/kek', getAccessToken },
      { keyUrl: 'https://contoso.vault.azure.net/keys/kek/v1/extra', getAccessToken },
      { keyUrl: 'https://contoso.vault.azure.net/keys/bad_name', getAccessToken },
      { keyUrl: 'https://user:pass@contoso.vault.azure.net/keys/kek', getAccessToken },
      { keyUrl: 'https://contoso.vault.azure.net/keys/kek?api-version=7.4', getAccessToken },
      { keyUrl: 'not a url', getAccessToken },
      { keyUrl: VAULT_KEY, getAccessToken, algorithm: 'RSA-OAEP' as never },
      { keyUrl: VAULT_KEY, getAccessToken, apiVersion: '7.4&x=1' },
      { keyUrl: VAULT_KEY, getAccessToken: 'token' as never },
      { keyUrl: VAULT_KEY, getAccessToken, timeoutMs: 0 },
      undefined as never,
    ]) {
      expect(() => new AzureKeyVaultProvider(options)).toThrow(InvalidInputError);
    }
    expect(new AzureKeyVaultProvider({ keyUrl: 'http://127.0.0.1:9/keys/kek', getAccessToken }).kekId).toBe('http://127.0.0.1:9/keys/kek');
    expect(new AzureKeyVaultProvider({ keyUrl: `${VAULT_KEY}/${V1}/`, getAccessToken }).kekId).toBe(VAULT_KEY);
  });
});
