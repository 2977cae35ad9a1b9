/**
 * MultiKeyProvider: the conformance suite over two WebCrypto KEKs, then escrow, migration between
 * providers, the stated unwrap order and its report, and failures of single providers.
 */
import { describe, expect, it } from 'vitest';
import { AuthenticationError, InvalidInputError, KeyStateError, NotSupportedError, ProviderError } from '../../src/errors.js';
import { MultiKeyProvider, type UnwrapSource } from '../../src/kms/multi.js';
import { decodeWrappedKey, encodeWrappedKey, type KeyProvider } from '../../src/kms/provider.js';
import { WebCryptoKeyProvider } from '../../src/kms/webcrypto.js';
import { runProviderSuite } from './_provider-suite.js';

const ctx = { dekId: 'dek/docs/', keyVersion: 1, collection: 'docs', tenant: 'acme' };
const dek = (): Uint8Array => crypto.getRandomValues(new Uint8Array(32));

runProviderSuite(
  'multi (WebCrypto A256GCM + A256KW)',
  {
    faults: { kinds: [], notApplicable: 'a MultiKeyProvider has no connection of its own; each part provider handles its own faults (see multi.test.ts for a failing part)' },
    keyStates: 'a MultiKeyProvider has no state of its own; its describe() reports each part provider state (tested in multi.test.ts)',
  },
  async () => {
    const make = async (tag: string): Promise<MultiKeyProvider> =>
      new MultiKeyProvider({
        providers: [await WebCryptoKeyProvider.generate({ kekId: `${tag}-gcm` }), await WebCryptoKeyProvider.generate({ kekId: `${tag}-kw`, algorithm: 'A256KW' })],
      });
    const provider = await make('main');
    return { provider, otherKek: await make('other'), withOptions: () => provider, secrets: [] };
  },
);

/** A provider that always fails the way a down service does. */
function unreachable(inner: KeyProvider): KeyProvider {
  return {
    id: inner.id,
    kekId: inner.kekId,
    wrap: () => Promise.reject(new ProviderError('service down', { kind: 'unavailable', attempts: 4 })),
    unwrap: () => Promise.reject(new ProviderError('service down', { kind: 'unavailable', attempts: 4 })),
  };
}

describe('MultiKeyProvider', () => {
  it('escrow: each KEK alone opens the part it wrapped', async () => {
    const work = await WebCryptoKeyProvider.generate({ kekId: 'work' });
    const escrow = await WebCryptoKeyProvider.generate({ kekId: 'escrow', algorithm: 'RSA-OAEP-256' });
    const multi = new MultiKeyProvider({ providers: [work, escrow] });
    const d = dek();
    const wrapped = decodeWrappedKey(encodeWrappedKey(await multi.wrap(d, ctx)));
    expect(wrapped.parts?.map((p) => p.kekId)).toEqual(['work', 'escrow']);
    expect(await work.unwrap(wrapped.parts![0]!, ctx)).toEqual(d);
    expect(await escrow.unwrap(wrapped.parts![1]!, ctx)).toEqual(d);
    // A recovery client with only the escrow KEK opens the multi key.
    const recovery = new MultiKeyProvider({ providers: [escrow] });
    const { dek: opened, source } = await recovery.unwrapWithSource(wrapped, ctx);
    expect(opened).toEqual(d);
    expect(source).toMatchObject({ provider: 'webcrypto', kekId: 'escrow', part: 1, failures: [] });
  });

  it('unwraps in the stated order, reports which provider opened it and why earlier ones failed', async () => {
    const a = await WebCryptoKeyProvider.generate({ kekId: 'a' });
    const b = await WebCryptoKeyProvider.generate({ kekId: 'b' });
    const seen: UnwrapSource[] = [];
    const d = dek();
    const wrapped = await new MultiKeyProvider({ providers: [a, b] }).wrap(d, ctx);
    const bFirst = new MultiKeyProvider({ providers: [a, b], unwrapOrder: [1, 0], onUnwrap: (s) => seen.push(s) });
    expect(await bFirst.unwrap(wrapped, ctx)).toEqual(d);
    expect(seen[0]).toMatchObject({ kekId: 'b', part: 1 });
    // a's service is down: b opens it, and the report says why a did not.
    const aDown = new MultiKeyProvider({ providers: [unreachable(a), b] });
    const { dek: opened, source } = await aDown.unwrapWithSource(wrapped, ctx);
    expect(opened).toEqual(d);
    expect(source.kekId).toBe('b');
    expect(source.failures).toEqual([{ provider: 'webcrypto', kekId: 'a', code: 'PROVIDER_ERROR', message: 'service down' }]);
  });

  it('when every part fails: AuthenticationError if all refused, ProviderError if a service failed', async () => {
    const a = await WebCryptoKeyProvider.generate({ kekId: 'a' });
    const b = await WebCryptoKeyProvider.generate({ kekId: 'b' });
    const wrapped = await new MultiKeyProvider({ providers: [a, b] }).wrap(dek(), ctx);
    const bothDown = new MultiKeyProvider({ providers: [unreachable(a), unreachable(b)] });
    const down = await bothDown.unwrap(wrapped, ctx).catch((e: unknown) => e);
    expect(down).toBeInstanceOf(ProviderError);
    expect((down as ProviderError).kind).toBe('unavailable');
    expect((down as Error).message).toContain('webcrypto/a: PROVIDER_ERROR');
    // Same ids, other key material: both parts refused.
    const impostors = new MultiKeyProvider({ providers: [await WebCryptoKeyProvider.generate({ kekId: 'a' }), await WebCryptoKeyProvider.generate({ kekId: 'b' })] });
    await expect(impostors.unwrap(wrapped, ctx)).rejects.toMatchObject({ code: 'AUTHENTICATION_FAILED', reason: 'wrong-key' });
  });

  it('migration: a key wrapped by the old provider alone opens, and rewrap adds the new KEK', async () => {
    const old = await WebCryptoKeyProvider.generate({ kekId: 'old' });
    const next = await WebCryptoKeyProvider.generate({ kekId: 'new', algorithm: 'A256KW' });
    const d = dek();
    const legacy = await old.wrap(d, ctx);
    const migrating = new MultiKeyProvider({ providers: [next, old] });
    expect(await migrating.unwrap(legacy, ctx)).toEqual(d);
    const both = await migrating.rewrap(legacy, ctx);
    expect(both.parts?.map((p) => p.kekId)).toEqual(['new', 'old']);
    // After the migration the old KEK can be dropped: the new provider alone opens the rewrapped key.
    const done = new MultiKeyProvider({ providers: [next] });
    expect(await done.unwrap(both, ctx)).toEqual(d);
    const final = await done.rewrap(both, ctx);
    expect(final.parts?.map((p) => p.kekId)).toEqual(['new']);
  });

  it('wrap fails as a whole when one provider fails (no half-escrowed key)', async () => {
    const a = await WebCryptoKeyProvider.generate({ kekId: 'a' });
    const b = await WebCryptoKeyProvider.generate({ kekId: 'b' });
    await expect(new MultiKeyProvider({ providers: [a, unreachable(b)] }).wrap(dek(), ctx)).rejects.toBeInstanceOf(ProviderError);
  });

  it('describe lists each provider state; a destroyed part makes the whole not enabled', async () => {
    const a = await WebCryptoKeyProvider.generate({ kekId: 'a' });
    const b = await WebCryptoKeyProvider.generate({ kekId: 'b' });
    const multi = new MultiKeyProvider({ providers: [a, b] });
    expect((await multi.describe()).state).toBe('enabled');
    await b.destroy();
    const info = await multi.describe();
    expect(info.state).toBe('destroyed');
    expect(info.details).toEqual({ '0:webcrypto/a': 'enabled', '1:webcrypto/b': 'destroyed' });
  });

  it('destroyKek destroys every part: destroyed only when all are; a part that cannot is listed in notSupported', async () => {
    const a = await WebCryptoKeyProvider.generate({ kekId: 'a' });
    const b = await WebCryptoKeyProvider.generate({ kekId: 'b', algorithm: 'A256KW' });
    const multi = new MultiKeyProvider({ providers: [a, b] });
    const wrapped = await multi.wrap(dek(), ctx);
    await expect(multi.destroyKek({ nope: true } as never)).rejects.toBeInstanceOf(InvalidInputError);
    const done = await multi.destroyKek();
    expect(done).toMatchObject({ provider: 'multi', kekId: multi.kekId, state: 'destroyed', notSupported: [] });
    expect(done.parts?.map((p) => [p.kekId, p.state])).toEqual([['a', 'destroyed'], ['b', 'destroyed']]);
    await expect(multi.unwrap(wrapped, ctx)).rejects.toMatchObject({ code: 'KEY_STATE', state: 'destroyed' });
    await expect(multi.wrap(dek(), ctx)).rejects.toBeInstanceOf(KeyStateError);
    expect((await multi.destroyKek()).state).toBe('destroyed'); // idempotent

    // An escrow part without destroyKek keeps the DEKs recoverable: not 'destroyed', and named.
    const work = await WebCryptoKeyProvider.generate({ kekId: 'work' });
    const escrow = unreachable(await WebCryptoKeyProvider.generate({ kekId: 'escrow' }));
    const partial = await new MultiKeyProvider({ providers: [work, escrow] }).destroyKek();
    expect(partial.state).toBe('pending-deletion');
    expect(partial.notSupported).toEqual(['webcrypto/escrow']);
    await expect(new MultiKeyProvider({ providers: [escrow] }).destroyKek()).rejects.toBeInstanceOf(NotSupportedError);

    // A part whose service fails: the error comes through (a retry finishes the rest).
    const failing = { ...unreachable(a), kekId: 'down', destroyKek: () => Promise.reject(new ProviderError('service down', { kind: 'unavailable', attempts: 4 })) };
    await expect(new MultiKeyProvider({ providers: [failing] }).destroyKek()).rejects.toMatchObject({ code: 'PROVIDER_ERROR', kind: 'unavailable' });
  });

  it('checks its options', async () => {
    const a = await WebCryptoKeyProvider.generate({ kekId: 'a' });
    expect(() => new MultiKeyProvider({ providers: [] })).toThrow(InvalidInputError);
    expect(() => new MultiKeyProvider({ providers: [a, a] })).toThrow(InvalidInputError);
    expect(() => new MultiKeyProvider({ providers: [a], unwrapOrder: [1] })).toThrow(InvalidInputError);
    expect(() => new MultiKeyProvider({ providers: [new MultiKeyProvider({ providers: [a] })] })).toThrow(InvalidInputError);
    await expect(new MultiKeyProvider({ providers: [a] }).unwrap({ ...(await a.wrap(dek(), ctx)), provider: 'aws-kms' }, ctx)).rejects.toBeInstanceOf(InvalidInputError);
    expect(AuthenticationError).toBeDefined();
  });
});
