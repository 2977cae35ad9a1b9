/**
 * WebCryptoKeyProvider in Node and the three browsers: the conformance suite for each algorithm,
 * encrypt-only producers, BYOK imports, non-extractability and destroy (crypto-shredding).
 * Persistence across a page reload is in webcrypto-persist.browser.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { AuthenticationError, InvalidInputError, KeyStateError, NotSupportedError } from '../../src/errors.js';
import { WebCryptoKeyProvider, type WebCryptoAlgorithm } from '../../src/kms/webcrypto.js';
import { runProviderSuite } from './_provider-suite.js';

const ctx = { dekId: 'dek/docs/', keyVersion: 1, collection: 'docs', tenant: '' };

const NO_FAULTS = 'WebCrypto runs inside this process: there is no connection that could hang, throttle, answer 500 or close';
const NO_STATES = 'a CryptoKey has no disabled state; destroy() (crypto-shredding) is tested in webcrypto.test.ts';

for (const algorithm of ['A256GCM', 'A256KW', 'RSA-OAEP-256'] as WebCryptoAlgorithm[]) {
  runProviderSuite(`webcrypto (${algorithm})`, { faults: { kinds: [], notApplicable: NO_FAULTS }, keyStates: NO_STATES }, async () => {
    const provider = await WebCryptoKeyProvider.generate({ algorithm, kekId: `kek-${algorithm}` });
    return {
      provider,
      otherKek: await WebCryptoKeyProvider.generate({ algorithm, kekId: `other-${algorithm}` }),
      withOptions: () => provider,
      secrets: [],
    };
  });
}

describe('WebCryptoKeyProvider specifics', () => {
  it('wrapped sizes: 60 bytes (A256GCM), 72 (A256KW: RFC 3394 + binding tag), the modulus (RSA-OAEP-256)', async () => {
    const dek = crypto.getRandomValues(new Uint8Array(32));
    for (const [algorithm, size] of [['A256GCM', 60], ['A256KW', 72], ['RSA-OAEP-256', 384]] as const) {
      const p = await WebCryptoKeyProvider.generate({ algorithm });
      const w = await p.wrap(dek, ctx);
      expect(w.algorithm).toBe(algorithm);
      expect(w.bytes.length).toBe(size);
    }
  });

  it('generated KEKs are non-extractable', async () => {
    const key = await crypto.subtle.generateKey({ name: 'AES-KW', length: 256 }, false, ['wrapKey', 'unwrapKey']);
    const p = WebCryptoKeyProvider.fromCryptoKey(key, 'mine');
    expect((await p.describe()).details?.extractable).toBe(false);
    await expect(crypto.subtle.exportKey('raw', key)).rejects.toThrow();
    for (const algorithm of ['A256GCM', 'A256KW', 'RSA-OAEP-256'] as const) {
      expect((await (await WebCryptoKeyProvider.generate({ algorithm })).describe()).details?.extractable).toBe(false);
    }
  });

  it('an encrypt-only producer wraps and generates DEKs it cannot unwrap; the private key holder can', async () => {
    const owner = await WebCryptoKeyProvider.generate({ algorithm: 'RSA-OAEP-256', kekId: 'rsa-owner' });
    const jwk = await owner.exportPublicKey();
    expect(jwk.d).toBeUndefined();
    const producer = await WebCryptoKeyProvider.encryptOnly(jwk, 'rsa-owner');
    expect((await producer.describe()).canUnwrap).toBe(false);
    const { dek, wrapped } = await producer.generateDataKey(ctx);
    await expect(producer.unwrap(wrapped, ctx)).rejects.toBeInstanceOf(NotSupportedError);
    expect(await owner.unwrap(wrapped, ctx)).toEqual(dek);
    // SPKI bytes work too, and the label binds the context.
    const spki = new Uint8Array(await crypto.subtle.exportKey('spki', await crypto.subtle.importKey('jwk', jwk, { name: 'RSA-OAEP', hash: 'SHA-256' }, true, ['encrypt'])));
    const fromSpki = await WebCryptoKeyProvider.encryptOnly(spki, 'rsa-owner');
    const w2 = await fromSpki.wrap(dek, ctx);
    expect(await owner.unwrap(w2, ctx)).toEqual(dek);
    await expect(owner.unwrap(w2, { ...ctx, tenant: 't2' })).rejects.toMatchObject({ reason: 'wrong-context' });
    await expect(WebCryptoKeyProvider.encryptOnly({ kty: 'oct', k: 'AAAA' } as JsonWebKey, 'x')).rejects.toThrow();
  });

  it('BYOK: raw import (non-extractable afterwards) and a customer KEK wrapped to our RSA key', async () => {
    const raw = crypto.getRandomValues(new Uint8Array(32));
    const a = await WebCryptoKeyProvider.importRaw(raw, { kekId: 'byok', algorithm: 'A256KW' });
    const b = await WebCryptoKeyProvider.importRaw(raw, { kekId: 'byok', algorithm: 'A256KW' });
    const dek = crypto.getRandomValues(new Uint8Array(32));
    expect(await b.unwrap(await a.wrap(dek, ctx), ctx)).toEqual(dek);
    expect((await a.describe()).details?.extractable).toBe(false);
    await expect(WebCryptoKeyProvider.importRaw(new Uint8Array(16), { kekId: 'x' })).rejects.toBeInstanceOf(InvalidInputError);

    // The customer wraps its AES KEK to our RSA public key; we unwrap it straight into a non-extractable CryptoKey.
    const ours = (await crypto.subtle.generateKey({ name: 'RSA-OAEP', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, false, ['wrapKey', 'unwrapKey', 'decrypt'])) as CryptoKeyPair;
    const customerKek = await crypto.subtle.importKey('raw', raw, { name: 'AES-GCM' }, true, ['encrypt']);
    const wrappedKek = new Uint8Array(await crypto.subtle.wrapKey('raw', customerKek, ours.publicKey, { name: 'RSA-OAEP' }));
    const imported = await WebCryptoKeyProvider.importWrapped(wrappedKek, ours.privateKey, { kekId: 'customer', algorithm: 'A256GCM' });
    const direct = await WebCryptoKeyProvider.importRaw(raw, { kekId: 'customer', algorithm: 'A256GCM' });
    expect(await direct.unwrap(await imported.wrap(dek, ctx), ctx)).toEqual(dek);
    expect((await imported.describe()).details?.extractable).toBe(false);
    const tampered = wrappedKek.slice();
    tampered[10]! ^= 1;
    await expect(WebCryptoKeyProvider.importWrapped(tampered, ours.privateKey, { kekId: 'c2' })).rejects.toBeInstanceOf(InvalidInputError);
  });

  it('DEKs and imported KEKs that start with zero bytes survive RSA-OAEP (WebKitGTK returns them short)', async () => {
    const owner = await WebCryptoKeyProvider.generate({ algorithm: 'RSA-OAEP-256' });
    for (const zeros of [1, 2, 5]) {
      const d = crypto.getRandomValues(new Uint8Array(32));
      d.fill(0, 0, zeros);
      d[zeros] = 0x80;
      expect(await owner.unwrap(await owner.wrap(d, ctx), ctx)).toEqual(d);
    }
    const ours = (await crypto.subtle.generateKey({ name: 'RSA-OAEP', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, false, ['wrapKey', 'unwrapKey', 'decrypt'])) as CryptoKeyPair;
    const raw = crypto.getRandomValues(new Uint8Array(32));
    raw[0] = 0;
    const wrappedKek = new Uint8Array(await crypto.subtle.wrapKey('raw', await crypto.subtle.importKey('raw', raw, { name: 'AES-GCM' }, true, ['encrypt']), ours.publicKey, { name: 'RSA-OAEP' }));
    const imported = await WebCryptoKeyProvider.importWrapped(wrappedKek, ours.privateKey, { kekId: 'zero-led' });
    const direct = await WebCryptoKeyProvider.importRaw(raw, { kekId: 'zero-led' });
    const dek = crypto.getRandomValues(new Uint8Array(32));
    expect(await direct.unwrap(await imported.wrap(dek, ctx), ctx)).toEqual(dek);
    expect((await imported.describe()).details?.extractable).toBe(false);
  });

  it('refuses a KEK of the wrong kind', async () => {
    const hmac = await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    expect(() => WebCryptoKeyProvider.fromCryptoKey(hmac, 'x')).toThrow(InvalidInputError);
    const aes128 = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 128 }, false, ['encrypt', 'decrypt']);
    expect(() => WebCryptoKeyProvider.fromCryptoKey(aes128, 'x')).toThrow(InvalidInputError);
    await expect(WebCryptoKeyProvider.generate({ algorithm: 'A128KW' as never })).rejects.toBeInstanceOf(InvalidInputError);
  });

  it('a key wrapped with one algorithm does not open with a KEK of another under the same id', async () => {
    const gcm = await WebCryptoKeyProvider.generate({ algorithm: 'A256GCM', kekId: 'same' });
    const kw = await WebCryptoKeyProvider.generate({ algorithm: 'A256KW', kekId: 'same' });
    const w = await gcm.wrap(crypto.getRandomValues(new Uint8Array(32)), ctx);
    await expect(kw.unwrap(w, ctx)).rejects.toBeInstanceOf(InvalidInputError);
  });

  it('destroy() shreds the KEK: every later call fails with KeyStateError destroyed', async () => {
    const p = await WebCryptoKeyProvider.generate();
    const w = await p.wrap(crypto.getRandomValues(new Uint8Array(32)), ctx);
    await p.destroy();
    await expect(p.unwrap(w, ctx)).rejects.toMatchObject({ code: 'KEY_STATE', state: 'destroyed' });
    await expect(p.wrap(new Uint8Array(32), ctx)).rejects.toBeInstanceOf(KeyStateError);
    expect((await p.describe()).state).toBe('destroyed');
  });

  it('the binding tag of A256KW keys refuses a swap between two wrapped keys', async () => {
    const p = await WebCryptoKeyProvider.generate({ algorithm: 'A256KW' });
    const ctx2 = { ...ctx, dekId: 'dek/other/' };
    const w1 = await p.wrap(crypto.getRandomValues(new Uint8Array(32)), ctx);
    const w2 = await p.wrap(crypto.getRandomValues(new Uint8Array(32)), ctx2);
    const { sealWrappedKey } = await import('../../src/kms/provider.js');
    // w1's RFC 3394 blob with w2's tag, presented under ctx2 with digests recomputed: the tag check refuses it.
    const swapped = new Uint8Array(w1.bytes);
    swapped.set(w2.bytes.subarray(40), 40);
    const forged = await sealWrappedKey('webcrypto', p.kekId, { ...w1, bytes: swapped }, ctx2);
    await expect(p.unwrap(forged, ctx2)).rejects.toBeInstanceOf(AuthenticationError);
  });
});

describe('WebCryptoKeyProvider.persistent outside browsers', () => {
  it('says IndexedDB is needed where there is none', async () => {
    if (typeof indexedDB !== 'undefined') {
      expect(typeof indexedDB.open).toBe('function'); // browsers: covered by webcrypto-persist.browser.test.ts
      return;
    }
    await expect(WebCryptoKeyProvider.persistent({ kekId: 'x' })).rejects.toBeInstanceOf(NotSupportedError);
  });
});
