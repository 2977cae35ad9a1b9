/**
 * VaultTransitProvider against the local Vault Transit server (servers/vault-transit.server.ts,
 * written from the Transit HTTP API docs): the conformance suite in both binding modes (associated
 * data on an ordinary aes256-gcm96 key, key derivation on a derived key), then what is Vault's own:
 * batch rewrap with batch_input, min_decryption_version, derived-key context binding done by Vault
 * itself, the endpoints each mode uses, namespaces and the token supplier.
 *
 * Portable: fetch and inject() only, so it also runs in the browser projects.
 */
import { describe, expect, inject, it } from 'vitest';
import { AuthenticationError, InvalidInputError, KeyStateError, ProviderError } from '../../src/errors.js';
import { encodeWrapContext, sealWrappedKey, type WrapContext } from '../../src/kms/provider.js';
import { VAULT_TRANSIT_ASSOCIATED_DATA, VAULT_TRANSIT_DERIVED, VaultTransitProvider, type VaultTransitProviderOptions } from '../../src/kms/vault-transit.js';
import { runProviderSuite, type ProviderHarness, type SuiteFeatures } from './_provider-suite.js';
import { httpFaults } from './servers/_http-faults.js';

const url = inject('vaultUrl');
const token = inject('vaultToken');
const faults = httpFaults(url);

const FEATURES: SuiteFeatures = { faults: { kinds: ['hang', 'throttle', 'error500', 'close'] }, keyStates: true, destroyKek: { state: 'destroyed' } };

function base64(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/** A Vault admin call from the test (create, rotate, config, delete), outside the provider. */
async function vault(method: string, path: string, body?: unknown, namespace?: string): Promise<{ status: number; json: any }> {
  const headers: Record<string, string> = { 'X-Vault-Token': token };
  if (namespace !== undefined) headers['X-Vault-Namespace'] = namespace;
  const r = await fetch(`${url}/v1/${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, json: text === '' ? undefined : JSON.parse(text) };
}

async function admin(method: string, path: string, body?: unknown, namespace?: string): Promise<any> {
  const r = await vault(method, path, body, namespace);
  if (r.status >= 300) throw new Error(`${method} ${path}: HTTP ${r.status} ${JSON.stringify(r.json)}`);
  return r.json;
}

const unique = (prefix: string): string => `${prefix}-${crypto.randomUUID()}`;
const createKey = (name: string, derived: boolean, namespace?: string): Promise<unknown> => admin('POST', `transit/keys/${name}`, { type: 'aes256-gcm96', derived }, namespace);
const rotate = (name: string): Promise<unknown> => admin('POST', `transit/keys/${name}/rotate`);
const configure = (name: string, body: Record<string, unknown>): Promise<unknown> => admin('POST', `transit/keys/${name}/config`, body);

function provider(keyName: string, derived: boolean, extra: Partial<VaultTransitProviderOptions> = {}): VaultTransitProvider {
  return new VaultTransitProvider({ address: url, keyName, token, derived, ...extra });
}

const ctx = (n: number, tenant = 'acme'): WrapContext => ({ dekId: `dek/vault/${n}`, keyVersion: 1, collection: 'docs', tenant });
const randomDek = (): Uint8Array => crypto.getRandomValues(new Uint8Array(32));

/** A fetch that records the method and path of every request the provider makes. */
function recordingFetch(): { fetch: typeof fetch; calls: string[]; headers: Headers[] } {
  const calls: string[] = [];
  const headers: Headers[] = [];
  return {
    calls,
    headers,
    fetch: (input, init) => {
      calls.push(`${init?.method ?? 'GET'} ${new URL(String(input)).pathname}`);
      headers.push(new Headers(init?.headers));
      return fetch(input, init);
    },
  };
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the operation to fail, and it succeeded');
}

function harness(derived: boolean): () => Promise<ProviderHarness> {
  return async () => {
    const name = unique(derived ? 'kek-derived' : 'kek-ad');
    const other = unique('other');
    await createKey(name, derived);
    await createKey(other, derived);
    return {
      provider: provider(name, derived),
      otherKek: provider(other, derived),
      withOptions: (options) => provider(name, derived, options),
      faults,
      rotateKek: async () => {
        await rotate(name);
      },
      // Vault cannot disable a whole key and its latest version always encrypts, so the disposable KEK
      // is version 1 of a fresh key, pinned: "disable" rotates to v2 and retires v1 for decryption
      // (min_decryption_version) and encryption (min_encryption_version), Vault's way of retiring versions.
      disposableKek: async () => {
        const disposable = unique('disposable');
        await createKey(disposable, derived);
        return {
          provider: provider(disposable, derived, { keyVersion: 1 }),
          disable: async () => {
            await rotate(disposable);
            await configure(disposable, { min_decryption_version: 2, min_encryption_version: 2 });
          },
          destroy: async () => {
            await configure(disposable, { deletion_allowed: true });
            await admin('DELETE', `transit/keys/${disposable}`);
          },
          destroyedState: 'destroyed',
        };
      },
      secrets: [token],
    };
  };
}

runProviderSuite('vault-transit (associated_data)', FEATURES, harness(false));
runProviderSuite('vault-transit (derived key, context)', FEATURES, harness(true));

describe('VaultTransitProvider: Vault specifics', () => {
  it('rewrapMany re-wraps 50 DEKs of a derived key in one batch_input request, inside Vault', async () => {
    const name = unique('batch-derived');
    await createKey(name, true);
    const recorder = recordingFetch();
    const kek = provider(name, true, { fetch: recorder.fetch });
    const items = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const dek = randomDek();
        const context = ctx(1000 + i);
        return { dek, context, wrapped: await kek.wrap(dek, context) };
      }),
    );
    await rotate(name);
    recorder.calls.length = 0;
    const before = await faults.requests();
    const results = await kek.rewrapMany(items.map(({ wrapped, context }) => ({ wrapped, context })));
    expect((await faults.requests()) - before).toBe(1);
    expect(recorder.calls).toEqual([`POST /v1/transit/rewrap/${name}`]);
    expect(results).toHaveLength(50);
    for (let i = 0; i < 50; i++) {
      const r = results[i]!;
      if (!r.ok) throw r.error;
      expect(r.wrapped.kekVersion).toBe('2');
      expect(r.wrapped.algorithm).toBe(VAULT_TRANSIT_DERIVED);
      expect(await kek.unwrap(r.wrapped, items[i]!.context)).toEqual(items[i]!.dek);
    }
  });

  it('rewrapMany with associated data: one batch decrypt and one batch encrypt for 50 DEKs (Vault rewrap takes no associated_data)', async () => {
    const name = unique('batch-ad');
    await createKey(name, false);
    const recorder = recordingFetch();
    const kek = provider(name, false, { fetch: recorder.fetch });
    const items = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const dek = randomDek();
        const context = ctx(2000 + i);
        return { dek, context, wrapped: await kek.wrap(dek, context) };
      }),
    );
    await rotate(name);
    recorder.calls.length = 0;
    const results = await kek.rewrapMany(items.map(({ wrapped, context }) => ({ wrapped, context })));
    expect(recorder.calls).toEqual([`POST /v1/transit/decrypt/${name}`, `POST /v1/transit/encrypt/${name}`]);
    for (let i = 0; i < 50; i++) {
      const r = results[i]!;
      if (!r.ok) throw r.error;
      expect(r.wrapped.kekVersion).toBe('2');
      expect(await kek.unwrap(r.wrapped, items[i]!.context)).toEqual(items[i]!.dek);
    }
  });

  it('rewrapMany reports errors per item: refused by Vault, refused here, retired version; the rest succeed', async () => {
    const name = unique('batch-errors');
    await createKey(name, true);
    const kek = provider(name, true);
    const good = { dek: randomDek(), context: ctx(1) };
    const goodWrapped = await kek.wrap(good.dek, good.context);
    // Context digest forged to another context: passes the local checks, Vault's derived key refuses it.
    const forgedContext = ctx(2, 'intruder');
    const forged = await sealWrappedKey('vault-transit', kek.kekId, await kek.wrap(randomDek(), ctx(2)), forgedContext);
    // Checksum broken: refused here, never sent.
    const tamperedBase = await kek.wrap(randomDek(), ctx(3));
    const tampered = { ...tamperedBase, checksum: tamperedBase.checksum.map((b) => b ^ 1) };
    const before = await faults.requests();
    const results = await kek.rewrapMany([
      { wrapped: goodWrapped, context: good.context },
      { wrapped: forged, context: forgedContext },
      { wrapped: tampered, context: ctx(3) },
      { wrapped: goodWrapped, context: ctx(1, 'other-tenant') },
      { wrapped: 'nonsense' as never, context: good.context },
    ]);
    expect((await faults.requests()) - before).toBe(1);
    expect(results[0]!.ok).toBe(true);
    const reasons = results.slice(1).map((r) => (r.ok ? 'ok' : r.error instanceof AuthenticationError ? r.error.reason : r.error.constructor.name));
    expect(reasons).toEqual(['wrong-key', 'tampered', 'wrong-context', 'InvalidInputError']);

    // A version retired after wrapping: Vault answers per item with "too old", reported as KeyStateError 'disabled'.
    await rotate(name);
    const v2 = await kek.wrap(good.dek, good.context);
    await configure(name, { min_decryption_version: 2 });
    const after = await kek.rewrapMany([
      { wrapped: goodWrapped, context: good.context },
      { wrapped: v2, context: good.context },
    ]);
    expect(after[0]!.ok).toBe(false);
    const retired = (after[0] as { error: unknown }).error;
    expect(retired).toBeInstanceOf(KeyStateError);
    expect((retired as KeyStateError).state).toBe('disabled');
    expect(after[1]!.ok).toBe(true);
  });

  it('rewrapMany retries a throttled or failing batch, gives each item the final error, and stops on abort', async () => {
    const name = unique('batch-faults');
    await createKey(name, true);
    const kek = provider(name, true, { timeoutMs: 400, retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 20 } });
    const items = await Promise.all([1, 2, 3].map(async (i) => ({ wrapped: await kek.wrap(randomDek(), ctx(3000 + i)), context: ctx(3000 + i) })));
    try {
      await faults.arm('throttle', 2);
      let before = await faults.requests();
      const ok = await kek.rewrapMany(items);
      expect((await faults.requests()) - before).toBe(3);
      expect(ok.every((r) => r.ok)).toBe(true);

      await faults.arm('error500', 10);
      before = await faults.requests();
      const failed = await kek.rewrapMany(items);
      await faults.clear();
      expect((await faults.requests()) - before).toBe(3);
      for (const r of failed) {
        expect(r.ok).toBe(false);
        const error = (r as { error: unknown }).error;
        expect(error).toBeInstanceOf(ProviderError);
        expect((error as ProviderError).kind).toBe('unavailable');
        expect((error as ProviderError).attempts).toBe(3);
      }

      await faults.arm('hang', 1);
      const timedOut = await kek.rewrapMany(items.slice(0, 1));
      await faults.clear();
      expect(timedOut[0]!.ok).toBe(false);
      expect(((timedOut[0] as { error: unknown }).error as ProviderError).kind).toBe('timeout');

      await faults.arm('hang', 1);
      const controller = new AbortController();
      setTimeout(() => controller.abort(new Error('user cancelled')), 50);
      const aborted = await failure(provider(name, true, { timeoutMs: 5000 }).rewrapMany(items, { signal: controller.signal }));
      expect((aborted as { code?: string }).code).toBe('ABORTED');
    } finally {
      await faults.clear();
    }
  });

  it('respects min_decryption_version: older wrapped DEKs are refused as disabled, rewrapped ones open', async () => {
    const name = unique('min-decrypt');
    await createKey(name, false);
    const kek = provider(name, false);
    const dek = randomDek();
    const context = ctx(10);
    const v1 = await kek.wrap(dek, context);
    expect(v1.kekVersion).toBe('1');
    await rotate(name);
    const v2 = await kek.rewrap(v1, context);
    expect(v2.kekVersion).toBe('2');
    await configure(name, { min_decryption_version: 2 });
    const err = await failure(kek.unwrap(v1, context));
    expect(err).toBeInstanceOf(KeyStateError);
    expect((err as KeyStateError).state).toBe('disabled');
    expect((err as Error).message).toContain('too old');
    expect(await kek.unwrap(v2, context)).toEqual(dek);
    // The key itself stays enabled: its latest version encrypts and decrypts.
    const info = await kek.describe();
    expect(info.state).toBe('enabled');
    expect(info.kekVersion).toBe('2');
    expect(info.details).toMatchObject({ latest_version: 2, min_decryption_version: 2, derived: false, type: 'aes256-gcm96' });
    const fresh = await kek.wrap(dek, context);
    expect(fresh.kekVersion).toBe('2');
  });

  it('a provider pinned to a key version encrypts with it, and sees it retired by min_encryption_version', async () => {
    const name = unique('pinned');
    await createKey(name, false);
    await rotate(name);
    await rotate(name);
    const pinned = provider(name, false, { keyVersion: 2 });
    const dek = randomDek();
    const w = await pinned.wrap(dek, ctx(11));
    expect(w.kekVersion).toBe('2');
    expect((await pinned.describe()).state).toBe('enabled');
    await configure(name, { min_encryption_version: 3 });
    const err = await failure(pinned.wrap(dek, ctx(11)));
    expect(err).toBeInstanceOf(KeyStateError);
    expect((err as KeyStateError).state).toBe('disabled');
    expect((await pinned.describe()).state).toBe('disabled');
    // Decryption still follows the ciphertext's version, which min_decryption_version (1) allows.
    expect(await pinned.unwrap(w, ctx(11))).toEqual(dek);
  });

  it('derived mode: Vault itself binds the context (another context or none cannot decrypt)', async () => {
    const name = unique('derived-binding');
    await createKey(name, true);
    const kek = provider(name, true);
    const dek = randomDek();
    const context = ctx(20);
    const wrapped = await kek.wrap(dek, context);
    expect(wrapped.algorithm).toBe(VAULT_TRANSIT_DERIVED);
    expect(wrapped.kekId).toBe(`transit/keys/${name}`);
    const ciphertext = new TextDecoder().decode(wrapped.bytes);
    expect(ciphertext).toMatch(/^vault:v1:[A-Za-z0-9+/]+=*$/);
    const right = await vault('POST', `transit/decrypt/${name}`, { ciphertext, context: base64(encodeWrapContext(context)) });
    expect(right.status).toBe(200);
    expect(right.json.data.plaintext).toBe(base64(dek));
    const wrong = await vault('POST', `transit/decrypt/${name}`, { ciphertext, context: base64(encodeWrapContext({ ...context, tenant: 'x' })) });
    expect(wrong).toEqual({ status: 400, json: { errors: ['cipher: message authentication failed'] } });
    const none = await vault('POST', `transit/decrypt/${name}`, { ciphertext });
    expect(none.status).toBe(400);
    expect(none.json.errors[0]).toContain("missing 'context' for key derivation");
    // The provider reports Vault's refusal as wrong-key when the context digest is forged to match.
    const forged = await sealWrappedKey(wrapped.provider, wrapped.kekId, wrapped, { ...context, tenant: 'x' });
    const err = await failure(kek.unwrap(forged, { ...context, tenant: 'x' }));
    expect(err).toBeInstanceOf(AuthenticationError);
    expect((err as AuthenticationError).reason).toBe('wrong-key');
  });

  it('associated-data mode: Vault authenticates the context as associated_data', async () => {
    const name = unique('ad-binding');
    await createKey(name, false);
    const kek = provider(name, false);
    const dek = randomDek();
    const context = ctx(21);
    const wrapped = await kek.wrap(dek, context);
    expect(wrapped.algorithm).toBe(VAULT_TRANSIT_ASSOCIATED_DATA);
    const ciphertext = new TextDecoder().decode(wrapped.bytes);
    const right = await vault('POST', `transit/decrypt/${name}`, { ciphertext, associated_data: base64(encodeWrapContext(context)) });
    expect(right.json.data.plaintext).toBe(base64(dek));
    const none = await vault('POST', `transit/decrypt/${name}`, { ciphertext });
    expect(none).toEqual({ status: 400, json: { errors: ['cipher: message authentication failed'] } });
    // And why rewrap cannot run inside Vault in this mode: rewrap ignores associated_data.
    const rewrap = await vault('POST', `transit/rewrap/${name}`, { ciphertext, associated_data: base64(encodeWrapContext(context)) });
    expect(rewrap.status).toBe(400);
    expect(rewrap.json.errors).toEqual(['cipher: message authentication failed']);
  });

  it('uses datakey and rewrap where Vault can bind the context, decrypt + encrypt where it cannot', async () => {
    const derivedName = unique('endpoints-derived');
    const adName = unique('endpoints-ad');
    await createKey(derivedName, true);
    await createKey(adName, false);
    const d = recordingFetch();
    const a = recordingFetch();
    const derived = provider(derivedName, true, { fetch: d.fetch });
    const ad = provider(adName, false, { fetch: a.fetch });
    const context = ctx(30);
    const gd = await derived.generateDataKey(context);
    const ga = await ad.generateDataKey(context);
    expect(await derived.unwrap(gd.wrapped, context)).toEqual(gd.dek);
    expect(await ad.unwrap(ga.wrapped, context)).toEqual(ga.dek);
    await rotate(derivedName);
    await rotate(adName);
    const rd = await derived.rewrap(gd.wrapped, context);
    const ra = await ad.rewrap(ga.wrapped, context);
    expect([rd.kekVersion, ra.kekVersion]).toEqual(['2', '2']);
    expect(d.calls).toEqual([
      `POST /v1/transit/datakey/plaintext/${derivedName}`,
      `POST /v1/transit/decrypt/${derivedName}`,
      `POST /v1/transit/rewrap/${derivedName}`,
    ]);
    expect(a.calls).toEqual([
      `POST /v1/transit/encrypt/${adName}`,
      `POST /v1/transit/decrypt/${adName}`,
      `POST /v1/transit/decrypt/${adName}`,
      `POST /v1/transit/encrypt/${adName}`,
    ]);
    for (const h of [...d.headers, ...a.headers]) {
      expect(h.get('x-vault-token')).toBe(token);
      expect(h.has('x-vault-namespace')).toBe(false);
    }
  });

  it('asks the token supplier before every request; a wrong token is 403 rejected, not retried, and never shown', async () => {
    const name = unique('supplier');
    await createKey(name, false);
    let calls = 0;
    const kek = provider(name, false, {
      token: async () => {
        calls++;
        return token;
      },
    });
    const dek = randomDek();
    const w = await kek.wrap(dek, ctx(40));
    expect(await kek.unwrap(w, ctx(40))).toEqual(dek);
    expect(calls).toBe(2);

    const wrongToken = `hvs.${'w'.repeat(24)}`;
    const refused = provider(name, false, { token: async () => wrongToken, retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 } });
    const before = await faults.requests();
    const err = await failure(refused.wrap(dek, ctx(40)));
    expect((await faults.requests()) - before).toBe(1);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).kind).toBe('rejected');
    expect((err as ProviderError).status).toBe(403);
    expect((err as Error).message).toContain('permission denied');
    expect(JSON.stringify(err) + String((err as Error).stack)).not.toContain(wrongToken);

    const failing = provider(name, false, {
      token: async () => {
        throw new Error('login failed');
      },
    });
    const e2 = await failure(failing.wrap(dek, ctx(40)));
    expect(e2).toBeInstanceOf(ProviderError);
    expect((e2 as Error).message).toContain('token supplier failed');
    const empty = provider(name, false, { token: async () => '' });
    expect(await failure(empty.wrap(dek, ctx(40)))).toBeInstanceOf(ProviderError);
  });

  it('sends X-Vault-Namespace: a key in a namespace is used there and not found outside it', async () => {
    const name = unique('ns');
    await createKey(name, false, 'team-a');
    const recorder = recordingFetch();
    const inside = provider(name, false, { namespace: '/team-a/', fetch: recorder.fetch });
    expect(inside.kekId).toBe(`team-a/transit/keys/${name}`);
    const dek = randomDek();
    const w = await inside.wrap(dek, ctx(50));
    expect(await inside.unwrap(w, ctx(50))).toEqual(dek);
    expect(recorder.headers.every((h) => h.get('x-vault-namespace') === 'team-a')).toBe(true);
    const outside = provider(name, false);
    const err = await failure(outside.wrap(dek, ctx(50)));
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).kind).toBe('rejected');
    expect((err as Error).message).toContain('encryption key not found');
  });

  it('reports a missing key: rejected for wrap and describe, destroyed for a wrapped DEK that names it', async () => {
    const name = unique('gone');
    await createKey(name, false);
    const kek = provider(name, false);
    const dek = randomDek();
    const w = await kek.wrap(dek, ctx(60));
    const refused = await vault('DELETE', `transit/keys/${name}`);
    expect(refused).toEqual({ status: 400, json: { errors: ['deletion is not allowed for this key'] } });
    await configure(name, { deletion_allowed: true });
    await admin('DELETE', `transit/keys/${name}`);
    const e1 = await failure(kek.unwrap(w, ctx(60)));
    expect(e1).toBeInstanceOf(KeyStateError);
    expect((e1 as KeyStateError).state).toBe('destroyed');
    const e2 = await failure(kek.wrap(dek, ctx(60)));
    expect(e2).toBeInstanceOf(ProviderError);
    expect((e2 as ProviderError).kind).toBe('rejected');
    const e3 = await failure(kek.describe());
    expect(e3).toBeInstanceOf(ProviderError);
    expect((e3 as ProviderError).status).toBe(404);
  });

  it('refuses bytes that are not a Vault ciphertext without asking Vault', async () => {
    const name = unique('not-vault');
    await createKey(name, false);
    const kek = provider(name, false);
    const context = ctx(70);
    const wrapped = await kek.wrap(randomDek(), context);
    const before = await faults.requests();
    for (const text of ['vault:v1:', 'vault:v0:AAAA', 'vault:vx:AAAA', 'other:v1:AAAA', 'vault:v1:AA AA']) {
      const forged = await sealWrappedKey(wrapped.provider, wrapped.kekId, { ...wrapped, bytes: new TextEncoder().encode(text) }, context);
      const err = await failure(kek.unwrap(forged, context));
      expect(err).toBeInstanceOf(AuthenticationError);
    }
    // A kekVersion that disagrees with the ciphertext's version prefix.
    const relabelled = await sealWrappedKey(wrapped.provider, wrapped.kekId, { ...wrapped, kekVersion: '7' }, context);
    expect(await failure(kek.unwrap(relabelled, context))).toBeInstanceOf(AuthenticationError);
    expect((await faults.requests()) - before).toBe(0);
  });

  it('checks its options', () => {
    const ok = { address: url, keyName: 'k', token };
    for (const bad of [
      { ...ok, address: 'vault:8200' },
      { ...ok, address: 'ftp://vault' },
      { ...ok, address: `${url}?x=1` },
      { ...ok, keyName: 'a/b' },
      { ...ok, keyName: '' },
      { ...ok, token: '' },
      { ...ok, token: 'has space' },
      { ...ok, keyVersion: 0 },
      { ...ok, mount: '../sys' },
      null,
    ]) {
      expect(() => new VaultTransitProvider(bad as never)).toThrow(InvalidInputError);
    }
    expect(new VaultTransitProvider({ ...ok, mount: '/team/transit/', address: `${url}/` }).kekId).toBe('team/transit/keys/k');
  });
});
