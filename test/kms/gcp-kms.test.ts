/**
 * GcpKmsProvider against the local Cloud KMS (servers/gcp-kms.server.ts, REST v1): the conformance
 * suite, then what is particular to Google Cloud KMS: the per-request token supplier, CRC-32C
 * integrity in both directions, key versions (rotation, old versions, states) and destroy scheduling.
 * Portable: runs in Node and in the browsers.
 */
import { describe, expect, inject, it } from 'vitest';
import { AuthenticationError, InvalidInputError, KeyStateError, ProviderError } from '../../src/errors.js';
import { fromBase64, toBase64 } from '../../src/kms/_base64.js';
import { crc32c } from '../../src/kms/_crc32c.js';
import { GCP_KMS_ALGORITHM, GcpKmsProvider, type GcpKmsProviderOptions } from '../../src/kms/gcp-kms.js';
import { sealWrappedKey, type WrapContext } from '../../src/kms/provider.js';
import { gcpKmsAdmin } from './_gcp-kms-admin.js';
import { runProviderSuite } from './_provider-suite.js';
import { httpFaults } from './servers/_http-faults.js';

const url = inject('gcpKmsUrl');
const token = inject('gcpAccessToken');
const admin = gcpKmsAdmin(url, token);
const LOCATION = 'projects/vecseal-test/locations/global';
// One key ring per run and runtime: the server is shared by every test project.
const ringId = `gcp-kms-test-${crypto.randomUUID().slice(0, 12)}`;
let ringName: Promise<string> | undefined;
let keys = 0;

async function newKey(options?: { destroyScheduledDuration?: string }): Promise<string> {
  ringName ??= admin.createKeyRing(LOCATION, ringId);
  return admin.createKey(await ringName, `key-${++keys}`, options);
}

function gcp(keyName: string, options: Partial<GcpKmsProviderOptions> = {}): GcpKmsProvider {
  return new GcpKmsProvider({ keyName, endpoint: url, getAccessToken: async () => token, ...options });
}

function context(n: number): WrapContext {
  return { dekId: `dek/gcp/${n}`, keyVersion: 1, collection: 'docs', tenant: 'acme' };
}

function randomDek(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(32));
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Everything an error exposes: message, stack, own string properties, JSON, the cause chain. */
function exposed(err: unknown, depth = 0): string {
  if (depth > 6 || err === null || typeof err !== 'object') return err === undefined || err === null ? '' : String(err);
  let text = '';
  try {
    text += JSON.stringify(err);
  } catch {
    /* cycles: the fields below still count */
  }
  if (err instanceof Error) text += `\n${err.message}\n${err.stack ?? ''}`;
  for (const key of Object.getOwnPropertyNames(err)) {
    const v = (err as Record<string, unknown>)[key];
    if (typeof v === 'string') text += `\n${v}`;
  }
  return text + exposed((err as { cause?: unknown }).cause, depth + 1);
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the operation to fail, and it succeeded');
}

/** A fetch that lets `mutate` edit each JSON answer before the provider reads it. */
function tampering(mutate: (json: Record<string, unknown>, url: string) => void): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    const json = (await response.json()) as Record<string, unknown>;
    mutate(json, String(input));
    return new Response(JSON.stringify(json), { status: response.status, headers: { 'content-type': 'application/json' } });
  };
}

function flipFirstBit(base64: unknown): string {
  const bytes = fromBase64(String(base64));
  bytes[0]! ^= 0x01;
  return toBase64(bytes);
}

// Cloud KMS schedules every version for destruction (its scheduled-destroy window): 'pending-deletion'.
runProviderSuite('gcp-kms', { faults: { kinds: ['hang', 'throttle', 'error500', 'close'] }, keyStates: true, destroyKek: { state: 'pending-deletion' } }, async () => {
  const main = await newKey();
  const other = await newKey();
  return {
    provider: gcp(main),
    otherKek: gcp(other),
    withOptions: (options) => gcp(main, options),
    faults: httpFaults(url),
    // A new version made primary: encrypt moves to it, decrypt still opens version 1.
    rotateKek: async () => admin.setPrimary(main, await admin.createVersion(main)),
    disposableKek: async () => {
      const name = await newKey();
      const primary = `${name}/cryptoKeyVersions/1`;
      return {
        provider: gcp(name),
        disable: () => admin.setState(primary, 'DISABLED'),
        // Cloud KMS only schedules destruction (default 30 days): the version is DESTROY_SCHEDULED.
        destroy: () => admin.destroy(primary),
        destroyedState: 'pending-deletion',
      };
    },
    secrets: [token],
  };
});

describe('GcpKmsProvider: Google Cloud KMS specifics', () => {
  it('records the key, the version used and the algorithm; describe names the primary version', async () => {
    const key = await newKey();
    const p = gcp(key);
    const wrapped = await p.wrap(randomDek(), context(1));
    expect(wrapped.kekId).toBe(key);
    expect(wrapped.kekVersion).toBe(`${key}/cryptoKeyVersions/1`);
    expect(wrapped.algorithm).toBe(GCP_KMS_ALGORITHM);
    const info = await p.describe();
    expect(info).toMatchObject({ provider: 'gcp-kms', kekId: key, kekVersion: `${key}/cryptoKeyVersions/1`, state: 'enabled', algorithm: GCP_KMS_ALGORITHM, canUnwrap: true });
    expect(info.details).toMatchObject({ purpose: 'ENCRYPT_DECRYPT', protectionLevel: 'SOFTWARE', primaryState: 'ENABLED' });
  });

  it('asks the token supplier before every request, retries included, and sends it as a bearer token', async () => {
    const key = await newKey();
    let calls = 0;
    const sent: string[] = [];
    const recording: typeof fetch = async (input, init) => {
      sent.push(new Headers(init?.headers).get('authorization') ?? '');
      return fetch(input, init);
    };
    const supplier = async (): Promise<string> => {
      calls++;
      return token;
    };
    const p = gcp(key, { getAccessToken: supplier, fetch: recording, retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 } });
    const dek = randomDek();
    const wrapped = await p.wrap(dek, context(2));
    expect(await p.unwrap(wrapped, context(2))).toEqual(dek);
    await p.describe();
    expect(calls).toBe(3);
    expect(sent).toEqual([`Bearer ${token}`, `Bearer ${token}`, `Bearer ${token}`]);

    const faults = httpFaults(url);
    await faults.arm('throttle', 1);
    try {
      calls = 0;
      await p.wrap(randomDek(), context(2));
      expect(calls).toBe(2);
    } finally {
      await faults.clear();
    }
  });

  it('a token the service refuses gives ProviderError rejected (UNAUTHENTICATED), without the token', async () => {
    const key = await newKey();
    const refused = `ya29.refused-${crypto.randomUUID()}`;
    const wrapped = await gcp(key).wrap(randomDek(), context(3));
    const p = gcp(key, { getAccessToken: async () => refused });
    for (const attempt of [() => p.wrap(randomDek(), context(3)), () => p.unwrap(wrapped, context(3)), () => p.describe()]) {
      const err = await failure(attempt());
      expect(err, exposed(err)).toBeInstanceOf(ProviderError);
      expect(err).toMatchObject({ kind: 'rejected', status: 401, providerCode: 'UNAUTHENTICATED', attempts: 1 });
      expect(exposed(err)).not.toContain(refused);
      expect(exposed(err)).not.toContain(token);
    }
  });

  it('a token supplier that fails or gives no usable token is a ProviderError, not a request', async () => {
    const key = await newKey();
    const broken = new Error('metadata server unreachable');
    for (const supplier of [async () => Promise.reject(broken), async () => '', async () => 'two words', async () => undefined as unknown as string]) {
      let requests = 0;
      const counting: typeof fetch = async (input, init) => {
        requests++;
        return fetch(input, init);
      };
      const err = await failure(gcp(key, { getAccessToken: supplier, fetch: counting }).wrap(randomDek(), context(4)));
      expect(err, exposed(err)).toBeInstanceOf(ProviderError);
      expect((err as ProviderError).kind).toBe('rejected');
      expect(requests).toBe(0);
    }
    const err = await failure(gcp(key, { getAccessToken: async () => Promise.reject(broken) }).describe());
    expect((err as ProviderError).cause).toBe(broken);
  });

  it('sends the CRC-32C of every byte field, and the service checks them', async () => {
    const key = await newKey();
    const bodies: Record<string, unknown>[] = [];
    const recording: typeof fetch = async (input, init) => {
      bodies.push(JSON.parse(String(init?.body)) as Record<string, unknown>);
      return fetch(input, init);
    };
    const p = gcp(key, { fetch: recording });
    const dek = randomDek();
    const wrapped = await p.wrap(dek, context(5));
    await p.unwrap(wrapped, context(5));
    expect(Object.keys(bodies[0]!).sort()).toEqual(['additionalAuthenticatedData', 'additionalAuthenticatedDataCrc32c', 'plaintext', 'plaintextCrc32c']);
    expect(Object.keys(bodies[1]!).sort()).toEqual(['additionalAuthenticatedData', 'additionalAuthenticatedDataCrc32c', 'ciphertext', 'ciphertextCrc32c']);
    // The service refuses a request whose checksum does not match, so the provider's were right.
    const wrong = { ...bodies[0], plaintextCrc32c: String((Number(bodies[0]!.plaintextCrc32c) ^ 1) >>> 0) };
    const response = await fetch(`${url}/v1/${key}:encrypt`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(wrong) });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { status: string } }).error.status).toBe('INVALID_ARGUMENT');
  });

  it('refuses an answer that fails its CRC-32C or does not confirm ours, as a protocol error, without retrying', async () => {
    const key = await newKey();
    const good = gcp(key);
    const dek = randomDek();
    const ctx = context(6);
    const wrapped = await good.wrap(dek, ctx);
    const isEncrypt = (u: string): boolean => u.endsWith(':encrypt');
    const cases: [string, (json: Record<string, unknown>, u: string) => void, 'wrap' | 'unwrap'][] = [
      ['ciphertextCrc32c off by one bit', (j, u) => isEncrypt(u) && (j.ciphertextCrc32c = String((Number(j.ciphertextCrc32c) ^ 1) >>> 0)), 'wrap'],
      ['ciphertext corrupted', (j, u) => isEncrypt(u) && (j.ciphertext = flipFirstBit(j.ciphertext)), 'wrap'],
      ['ciphertextCrc32c missing', (j, u) => isEncrypt(u) && delete j.ciphertextCrc32c, 'wrap'],
      ['verifiedPlaintextCrc32c false', (j, u) => isEncrypt(u) && (j.verifiedPlaintextCrc32c = false), 'wrap'],
      ['verifiedAdditionalAuthenticatedDataCrc32c false', (j, u) => isEncrypt(u) && (j.verifiedAdditionalAuthenticatedDataCrc32c = false), 'wrap'],
      ['another key named as the version used', (j, u) => isEncrypt(u) && (j.name = `${key}-other/cryptoKeyVersions/1`), 'wrap'],
      ['plaintextCrc32c off by one bit', (j) => (j.plaintextCrc32c = String((Number(j.plaintextCrc32c) ^ 1) >>> 0)), 'unwrap'],
      ['plaintext corrupted', (j) => (j.plaintext = flipFirstBit(j.plaintext)), 'unwrap'],
    ];
    for (const [label, mutate, op] of cases) {
      let requests = 0;
      const counting = tampering((json, u) => {
        requests++;
        mutate(json, u);
      });
      const p = gcp(key, { fetch: counting, retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 } });
      const err = await failure(op === 'wrap' ? p.wrap(dek, ctx) : p.unwrap(wrapped, ctx));
      expect(err, `${label}: ${exposed(err)}`).toBeInstanceOf(ProviderError);
      expect((err as ProviderError).kind, label).toBe('protocol');
      expect(requests, label).toBe(1);
      // Neither the DEK nor its checksum (32 bits about it) appears in the error.
      expect(exposed(err)).not.toContain(String(crc32c(dek)));
      expect(exposed(err).toLowerCase()).not.toContain(hex(dek));
      expect(exposed(err)).not.toContain(toBase64(dek).slice(0, 40));
    }
  });

  it('a DEK wrapped under version 1 still opens after version 2 becomes primary, until version 1 is disabled', async () => {
    const key = await newKey();
    const p = gcp(key);
    const ctx = context(7);
    const first = randomDek();
    const before = await p.wrap(first, ctx);
    expect(before.kekVersion).toBe(`${key}/cryptoKeyVersions/1`);
    const v2 = await admin.createVersion(key);
    expect(v2).toBe(`${key}/cryptoKeyVersions/2`);
    // A new version is not primary until made so.
    expect((await p.wrap(randomDek(), ctx)).kekVersion).toBe(`${key}/cryptoKeyVersions/1`);
    await admin.setPrimary(key, v2);
    const second = randomDek();
    const after = await p.wrap(second, ctx);
    expect(after.kekVersion).toBe(v2);
    expect((await p.describe()).kekVersion).toBe(v2);
    expect(await p.unwrap(before, ctx)).toEqual(first);
    expect(await p.unwrap(after, ctx)).toEqual(second);
    const moved = await p.rewrap(before, ctx);
    expect(moved.kekVersion).toBe(v2);

    await admin.setState(`${key}/cryptoKeyVersions/1`, 'DISABLED');
    const err = await failure(p.unwrap(before, ctx));
    expect(err, exposed(err)).toBeInstanceOf(KeyStateError);
    expect((err as KeyStateError).state).toBe('disabled');
    expect(await p.unwrap(after, ctx)).toEqual(second);
    expect(await p.unwrap(moved, ctx)).toEqual(first);
    expect((await p.describe()).state).toBe('enabled');
    await admin.setState(`${key}/cryptoKeyVersions/1`, 'ENABLED');
    expect(await p.unwrap(before, ctx)).toEqual(first);
  });

  it('reports a version scheduled for destruction as pending-deletion, and restore brings it back disabled', async () => {
    const key = await newKey();
    const p = gcp(key);
    const ctx = context(8);
    const dek = randomDek();
    const wrapped = await p.wrap(dek, ctx);
    const v1 = `${key}/cryptoKeyVersions/1`;
    await admin.destroy(v1);
    const err = await failure(p.unwrap(wrapped, ctx));
    expect(err, exposed(err)).toBeInstanceOf(KeyStateError);
    expect((err as KeyStateError).state).toBe('pending-deletion');
    expect((await p.describe()).state).toBe('pending-deletion');
    await admin.restore(v1);
    expect(((await failure(p.unwrap(wrapped, ctx))) as KeyStateError).state).toBe('disabled');
    await admin.setState(v1, 'ENABLED');
    expect(await p.unwrap(wrapped, ctx)).toEqual(dek);
  });

  it('reports a destroyed version as destroyed (the local server destroys at once when destroyScheduledDuration is 0s)', async () => {
    const key = await newKey({ destroyScheduledDuration: '0s' });
    const p = gcp(key);
    const ctx = context(9);
    const wrapped = await p.wrap(randomDek(), ctx);
    await admin.destroy(`${key}/cryptoKeyVersions/1`);
    for (const attempt of [() => p.unwrap(wrapped, ctx), () => p.wrap(randomDek(), ctx)]) {
      const err = await failure(attempt());
      expect(err, exposed(err)).toBeInstanceOf(KeyStateError);
      expect((err as KeyStateError).state).toBe('destroyed');
    }
    expect((await p.describe()).state).toBe('destroyed');
  });

  it('maps service refusals: unknown key -> rejected, a ciphertext of another key -> wrong-key', async () => {
    const key = await newKey();
    const missing = `${key}-missing`;
    const err = await failure(gcp(missing).wrap(randomDek(), context(10)));
    expect(err, exposed(err)).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ kind: 'rejected', status: 403, providerCode: 'PERMISSION_DENIED' });
    // Another key's ciphertext relabelled as ours reaches the service, which refuses it.
    const other = await newKey();
    const ctx = context(10);
    const foreign = await gcp(other).wrap(randomDek(), ctx);
    const relabelled = await sealWrappedKey('gcp-kms', key, { ...foreign, kekId: key, kekVersion: `${key}/cryptoKeyVersions/1` }, ctx);
    const refused = await failure(gcp(key).unwrap(relabelled, ctx));
    expect(refused, exposed(refused)).toBeInstanceOf(AuthenticationError);
    expect((refused as AuthenticationError).reason).toBe('wrong-key');
    // Our key id with another key's version: refused here, before any request.
    let requests = 0;
    const counting: typeof fetch = async (input, init) => {
      requests++;
      return fetch(input, init);
    };
    const mixed = await sealWrappedKey('gcp-kms', key, { ...foreign, kekId: key }, ctx);
    const early = await failure(gcp(key, { fetch: counting }).unwrap(mixed, ctx));
    expect(early, exposed(early)).toBeInstanceOf(AuthenticationError);
    expect((early as AuthenticationError).reason).toBe('wrong-key');
    expect(requests).toBe(0);
  });

  it('checks its options', () => {
    const getAccessToken = async (): Promise<string> => token;
    const good = 'projects/p-1/locations/global/keyRings/r/cryptoKeys/k';
    expect(() => new GcpKmsProvider({ keyName: good, getAccessToken })).not.toThrow();
    for (const keyName of ['', 'projects/p/locations/l/keyRings/r', `${good}/cryptoKeyVersions/1`, 'projects/p/locations/l/keyRings/r/cryptoKeys/k?x=1', 'projects/p/locations/l/keyRings/../cryptoKeys/k']) {
      expect(() => new GcpKmsProvider({ keyName, getAccessToken }), keyName).toThrow(InvalidInputError);
    }
    expect(() => new GcpKmsProvider({ keyName: good } as never)).toThrow(InvalidInputError);
    expect(() => new GcpKmsProvider(null as never)).toThrow(InvalidInputError);
    for (const endpoint of ['cloudkms.googleapis.com', 'ftp://x', 'https://x/?q=1', 'https://user:pw@x']) {
      expect(() => new GcpKmsProvider({ keyName: good, getAccessToken, endpoint }), endpoint).toThrow(InvalidInputError);
    }
    expect(() => new GcpKmsProvider({ keyName: good, getAccessToken, timeoutMs: 0 })).toThrow(InvalidInputError);
  });
});
