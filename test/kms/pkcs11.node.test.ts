/**
 * Pkcs11Provider against Debian's SoftHSM2 (a real PKCS#11 v2.40 module) with a private token per
 * run: the conformance suite for both mechanisms (CKM_AES_KEY_WRAP_PAD, CKM_AES_GCM), then what is
 * particular to an HSM: the KEK cannot leave the token, the mechanism really is RFC 5649 (published
 * vectors through the token, and node:crypto agreeing with a KEK of known value), the token
 * outlives close() and C_Finalize, logins and token lookup fail clearly, versions rotate, and lost
 * sessions are reopened.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthenticationError, ClosedError, InvalidInputError, KeyStateError, ProviderError } from '../../src/errors.js';
import { bindingTag } from '../../src/kms/_binding.js';
import { encodeWrapContext } from '../../src/kms/_envelope.js';
import { Pkcs11Provider, type Pkcs11Mechanism, type Pkcs11ProviderOptions } from '../../src/kms/pkcs11.js';
import { sealWrappedKey, type WrapContext } from '../../src/kms/provider.js';
import { runProviderSuite, type ProviderHarness } from './_provider-suite.js';
import { createSoftHsmToken, openTokenAdmin, type SoftHsmToken } from './_softhsm.js';

let token: SoftHsmToken;

beforeAll(async () => {
  token = await createSoftHsmToken();
});

afterAll(async () => {
  await token?.remove();
});

function connection(mechanism: Pkcs11Mechanism = 'AES_KEY_WRAP_PAD'): Omit<Pkcs11ProviderOptions, 'keyLabel'> {
  return { libraryPath: token.libraryPath, tokenLabel: token.tokenLabel, pin: token.userPin, mechanism };
}

const NOT_A_SERVICE =
  'a PKCS#11 module is a library loaded into this process, not a service: there is no connection that could hang, be throttled, answer 500 or close (lost sessions and device errors are tested below)';

function harness(mechanism: Pkcs11Mechanism, prefix: string): () => Promise<ProviderHarness> {
  return async () => {
    // One suite gives the PIN as a string, the other as a supplier.
    const base = { ...connection(mechanism), pin: mechanism === 'AES_GCM' ? () => token.userPin : token.userPin };
    const provider = await Pkcs11Provider.generateKek({ ...base, keyLabel: `${prefix}-primary` });
    const otherKek = await Pkcs11Provider.generateKek({ ...base, keyLabel: `${prefix}-other` });
    const admin = openTokenAdmin(token);
    const extra: Pkcs11Provider[] = [];
    let disposables = 0;
    return {
      provider,
      otherKek,
      withOptions(options) {
        const p = provider.withOptions(options);
        extra.push(p);
        return p;
      },
      async rotateKek() {
        await provider.generateKek();
      },
      async disposableKek() {
        const keyLabel = `${prefix}-disposable-${++disposables}`;
        const p = await Pkcs11Provider.generateKek({ ...base, keyLabel });
        extra.push(p);
        return {
          provider: p,
          disable: async () => admin.setUsable(keyLabel, false),
          destroy: async () => admin.destroy(keyLabel),
          destroyedState: 'destroyed',
        };
      },
      secrets: [token.userPin, token.soPin],
      async close() {
        admin.close();
        for (const p of extra) await p.close();
        await otherKek.close();
        await provider.close();
      },
    };
  };
}

runProviderSuite('pkcs11 (CKM_AES_KEY_WRAP_PAD)', { faults: { kinds: [], notApplicable: NOT_A_SERVICE }, keyStates: true, destroyKek: { state: 'destroyed' } }, harness('AES_KEY_WRAP_PAD', 'kwp'));
runProviderSuite('pkcs11 (CKM_AES_GCM)', { faults: { kinds: [], notApplicable: NOT_A_SERVICE }, keyStates: true, destroyKek: { state: 'destroyed' } }, harness('AES_GCM', 'gcm'));

interface Rfc5649Vector {
  name: string;
  kek: string;
  key: string;
  wrap: string;
}

const rfc5649 = JSON.parse(readFileSync(new URL('../vectors/rfc5649/rfc5649-section6.json', import.meta.url), 'utf8')) as { tests: Rfc5649Vector[] };
const ctx: WrapContext = { dekId: 'dek/hsm/1', keyVersion: 3, collection: 'docs', tenant: 'acme' };

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the operation to fail, and it succeeded');
}

/** Message, stack and cause chain, for leak checks. */
function errorText(err: unknown): string {
  let text = '';
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 6; e = e.cause, depth++) text += `${JSON.stringify(e)}\n${e.message}\n${e.stack ?? ''}\n`;
  return text;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** RFC 5649 with AES-256 in node:crypto (OpenSSL), independent of the token. */
function nodeKwp(kek: Uint8Array, key: Uint8Array, decrypt = false): Buffer {
  const aiv = Buffer.from('a65959a6', 'hex'); // RFC 5649 section 3: the alternative initial value's constant half
  const c = decrypt ? createDecipheriv('id-aes256-wrap-pad', kek, aiv) : createCipheriv('id-aes256-wrap-pad', kek, aiv);
  return Buffer.concat([c.update(key), c.final()]);
}

describe('Pkcs11Provider on SoftHSM2', () => {
  it('generates the KEK in the token: sensitive, never extractable, for wrapping only', async () => {
    const kek = await Pkcs11Provider.generateKek({ ...connection(), keyLabel: 'hsm-kek' });
    const admin = openTokenAdmin(token);
    try {
      const { api, p11, session } = admin;
      const [handle] = admin.find('hsm-kek');
      expect(handle).toBeDefined();
      const flag = (type: number): boolean => admin.attributes(handle!, [type])[0]![0] === 1;
      const ulong = (type: number): number => Number(admin.attributes(handle!, [type])[0]!.readBigUInt64LE(0));
      expect(flag(api.CKA_TOKEN)).toBe(true);
      expect(flag(api.CKA_PRIVATE)).toBe(true);
      expect(flag(api.CKA_SENSITIVE)).toBe(true);
      expect(flag(api.CKA_ALWAYS_SENSITIVE)).toBe(true);
      expect(flag(api.CKA_EXTRACTABLE)).toBe(false);
      expect(flag(api.CKA_NEVER_EXTRACTABLE)).toBe(true);
      for (const usage of [api.CKA_WRAP, api.CKA_UNWRAP, api.CKA_ENCRYPT, api.CKA_DECRYPT]) expect(flag(usage)).toBe(true);
      for (const usage of [api.CKA_SIGN, api.CKA_VERIFY, api.CKA_DERIVE]) expect(flag(usage)).toBe(false);
      expect(ulong(api.CKA_KEY_TYPE)).toBe(api.CKK_AES);
      expect(ulong(api.CKA_VALUE_LEN)).toBe(32);
      // Its value cannot be read, wrapped out by another key, or made extractable afterwards.
      expect(() => admin.attributes(handle!, [api.CKA_VALUE])).toThrow('CKR_ATTRIBUTE_SENSITIVE');
      const outer = p11.C_GenerateKey(session, { mechanism: api.CKM_AES_KEY_GEN }, [
        { type: api.CKA_CLASS, value: api.CKO_SECRET_KEY },
        { type: api.CKA_KEY_TYPE, value: api.CKK_AES },
        { type: api.CKA_VALUE_LEN, value: 32 },
        { type: api.CKA_TOKEN, value: false },
        { type: api.CKA_WRAP, value: true },
      ]);
      expect(() => p11.C_WrapKey(session, { mechanism: api.CKM_AES_KEY_WRAP_PAD }, outer, handle!, Buffer.alloc(64))).toThrow('CKR_KEY_UNEXTRACTABLE');
      expect(() => p11.C_SetAttributeValue(session, handle!, [{ type: api.CKA_EXTRACTABLE, value: true }])).toThrow('CKR_ATTRIBUTE_READ_ONLY');
      expect(() => p11.C_SetAttributeValue(session, handle!, [{ type: api.CKA_SENSITIVE, value: false }])).toThrow('CKR_ATTRIBUTE_READ_ONLY');
      p11.C_DestroyObject(session, outer);
      const info = await kek.describe();
      expect(info).toMatchObject({ provider: 'pkcs11', kekId: `${token.tokenLabel}/hsm-kek`, kekVersion: '1', state: 'enabled', algorithm: 'A256KWP', canUnwrap: true });
      expect(info.details).toMatchObject({ sensitive: true, extractable: false, mechanism: 'CKM_AES_KEY_WRAP_PAD' });
      // The temporary DEK objects are gone after wrapping and unwrapping.
      const dek = randomBytes(32);
      await kek.unwrap(await kek.wrap(dek, ctx), ctx);
      p11.C_FindObjectsInit(session, [{ type: api.CKA_CLASS, value: api.CKO_SECRET_KEY }, { type: api.CKA_TOKEN, value: false }]);
      const sessionKeys = p11.C_FindObjects(session, 100);
      p11.C_FindObjectsFinal(session);
      expect(sessionKeys).toEqual([]);
    } finally {
      admin.close();
      await kek.close();
    }
  });

  it("RFC 5649 section 6: node:crypto reproduces the wraps, and the token's CKM_AES_KEY_WRAP_PAD unwraps them", async () => {
    expect(rfc5649.tests.length).toBe(2);
    // node:crypto (OpenSSL) is the independent RFC 5649 implementation the token's output is compared with below.
    for (const v of rfc5649.tests) {
      const c = createCipheriv('id-aes192-wrap-pad', Buffer.from(v.kek, 'hex'), Buffer.from('a65959a6', 'hex'));
      expect(Buffer.concat([c.update(Buffer.from(v.key, 'hex')), c.final()]).toString('hex'), v.name).toBe(v.wrap);
    }
    // The token decodes RFC 5649 (alternative IV, message length indicator, padding check) for odd lengths too.
    // (SoftHSM2 2.6.1 does not reproduce these two wraps: it zero-pads a key to a multiple of 8 bytes before
    // wrapping it, so its MLI says 24 and 8. DEKs are 32 bytes, where no padding applies; see the next test.)
    const holder = await Pkcs11Provider.generateKek({ ...connection(), keyLabel: 'rfc5649-holder' }); // holds the library open for the admin handle
    const admin = openTokenAdmin(token);
    try {
      const { api, p11, session } = admin;
      for (const v of rfc5649.tests) {
        const kek = p11.C_CreateObject(session, [
          { type: api.CKA_CLASS, value: api.CKO_SECRET_KEY },
          { type: api.CKA_KEY_TYPE, value: api.CKK_AES },
          { type: api.CKA_TOKEN, value: false },
          { type: api.CKA_UNWRAP, value: true },
          { type: api.CKA_VALUE, value: Buffer.from(v.kek, 'hex') },
        ]);
        const template = [
          { type: api.CKA_CLASS, value: api.CKO_SECRET_KEY },
          { type: api.CKA_KEY_TYPE, value: api.CKK_GENERIC_SECRET },
          { type: api.CKA_TOKEN, value: false },
          { type: api.CKA_SENSITIVE, value: false },
          { type: api.CKA_EXTRACTABLE, value: true },
        ];
        const back = p11.C_UnwrapKey(session, { mechanism: api.CKM_AES_KEY_WRAP_PAD }, kek, Buffer.from(v.wrap, 'hex'), template);
        expect(admin.attributes(back, [api.CKA_VALUE])[0]!.toString('hex'), v.name).toBe(v.key);
        const tampered = Buffer.from(v.wrap, 'hex');
        tampered[tampered.length - 1]! ^= 1;
        expect(() => p11.C_UnwrapKey(session, { mechanism: api.CKM_AES_KEY_WRAP_PAD }, kek, tampered, template), v.name).toThrow();
        for (const h of [kek, back]) p11.C_DestroyObject(session, h);
      }
    } finally {
      admin.close();
      await holder.close();
    }
  });

  it('A256KWP is RFC 5649 under the KEK and A256GCM is SP 800-38D with the context as AAD (node:crypto agrees)', async () => {
    const holder = await Pkcs11Provider.generateKek({ ...connection(), keyLabel: 'kat-holder' });
    const admin = openTokenAdmin(token);
    const kekValue = randomBytes(32);
    admin.importAesKey('kat-kek', kekValue); // test-only: a KEK of known value, to compare with an independent implementation
    admin.close();
    const kwp = await Pkcs11Provider.open({ ...connection('AES_KEY_WRAP_PAD'), keyLabel: 'kat-kek' });
    const gcm = await Pkcs11Provider.open({ ...connection('AES_GCM'), keyLabel: 'kat-kek' });
    try {
      const dek = randomBytes(32);
      const w = await kwp.wrap(dek, ctx);
      expect(w.algorithm).toBe('A256KWP');
      expect(w.bytes.length).toBe(72);
      expect(hex(w.bytes.subarray(0, 40))).toBe(hex(nodeKwp(kekValue, dek)));
      expect(hex(w.bytes.subarray(40))).toBe(hex(await bindingTag(dek, ctx)));
      // And the other way: node:crypto's wrap opens in the token.
      const fromNode = await sealWrappedKey('pkcs11', kwp.kekId, { bytes: Uint8Array.from([...nodeKwp(kekValue, dek), ...(await bindingTag(dek, ctx))]), algorithm: 'A256KWP', kekVersion: '1' }, ctx);
      expect(hex(await kwp.unwrap(fromNode, ctx))).toBe(hex(dek));

      const g = await gcm.wrap(dek, ctx);
      expect(g.algorithm).toBe('A256GCM');
      expect(g.bytes.length).toBe(60);
      const decipher = createDecipheriv('aes-256-gcm', kekValue, g.bytes.subarray(0, 12));
      decipher.setAAD(encodeWrapContext(ctx));
      decipher.setAuthTag(g.bytes.subarray(44));
      expect(hex(Buffer.concat([decipher.update(g.bytes.subarray(12, 44)), decipher.final()]))).toBe(hex(dek));
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', kekValue, iv);
      cipher.setAAD(encodeWrapContext(ctx));
      const sealed = Buffer.concat([iv, cipher.update(dek), cipher.final(), cipher.getAuthTag()]);
      const nodeGcm = await sealWrappedKey('pkcs11', gcm.kekId, { bytes: sealed, algorithm: 'A256GCM', kekVersion: '1' }, ctx);
      expect(hex(await gcm.unwrap(nodeGcm, ctx))).toBe(hex(dek));
      // One KEK, both mechanisms: a provider opens what the other wrote (the wrapped key says how).
      expect(hex(await kwp.unwrap(g, ctx))).toBe(hex(dek));
      expect(hex(await gcm.unwrap(w, ctx))).toBe(hex(dek));
    } finally {
      await gcm.close();
      await kwp.close();
      await holder.close();
    }
  });

  it('the token outlives close() and C_Finalize: reopened in the same process, the KEK is found by label', async () => {
    const first = await Pkcs11Provider.generateKek({ ...connection(), keyLabel: 'persist' });
    const admin = openTokenAdmin(token);
    admin.close();
    const dek = randomBytes(32);
    const wrapped = await first.wrap(dek, ctx);
    await first.close();
    await first.close(); // idempotent
    expect(await failure(first.wrap(dek, ctx))).toBeInstanceOf(ClosedError);
    // The last provider finalised the library (this package had initialised it).
    expect(() => admin.p11.C_GetSlotList(true)).toThrow('CKR_CRYPTOKI_NOT_INITIALIZED');
    const again = await Pkcs11Provider.open({ ...connection(), keyLabel: 'persist' });
    try {
      expect(again.kekId).toBe(first.kekId);
      expect(again.kekVersion).toBe('1');
      expect(hex(await again.unwrap(wrapped, ctx))).toBe(hex(dek));
    } finally {
      await again.close();
    }
  });

  it('a wrong PIN is ProviderError rejected, and no error carries a PIN', async () => {
    const wrongPin = `wrong-${randomBytes(6).toString('hex')}`;
    const seen: unknown[] = [];
    // Nobody logged in: the token itself refuses the PIN.
    const e1 = await failure(Pkcs11Provider.open({ ...connection(), pin: wrongPin, keyLabel: 'any' }));
    seen.push(e1);
    expect(e1).toBeInstanceOf(ProviderError);
    expect((e1 as ProviderError).kind).toBe('rejected');
    expect((e1 as ProviderError).providerCode).toBe('CKR_PIN_INCORRECT');
    expect((e1 as Error).message).toContain(token.tokenLabel);
    const e2 = await failure(Pkcs11Provider.open({ ...connection(), pin: async () => wrongPin, keyLabel: 'any' }));
    seen.push(e2);
    expect((e2 as ProviderError).providerCode).toBe('CKR_PIN_INCORRECT');
    // Already logged in by another provider: C_Login would accept any PIN, so the provider compares it.
    const ok = await Pkcs11Provider.generateKek({ ...connection(), keyLabel: 'pin-check' });
    try {
      const e3 = await failure(Pkcs11Provider.open({ ...connection(), pin: wrongPin, keyLabel: 'pin-check' }));
      seen.push(e3);
      expect(e3).toBeInstanceOf(ProviderError);
      expect((e3 as ProviderError).kind).toBe('rejected');
      const same = await Pkcs11Provider.open({ ...connection(), keyLabel: 'pin-check' });
      await same.close();
      const e4 = await failure(Pkcs11Provider.open({ ...connection(), pin: () => '', keyLabel: 'pin-check' }));
      seen.push(e4);
      expect(e4).toBeInstanceOf(ProviderError);
    } finally {
      await ok.close();
    }
    for (const err of seen) {
      const text = errorText(err);
      expect(text).not.toContain(wrongPin);
      expect(text).not.toContain(token.userPin);
      expect(text).not.toContain(token.soPin);
    }
  });

  it('an unknown token, library or key label is a clear ProviderError; bad options are InvalidInputError', async () => {
    const e1 = await failure(Pkcs11Provider.open({ ...connection(), tokenLabel: 'no-such-token', keyLabel: 'k' }));
    expect(e1).toBeInstanceOf(ProviderError);
    expect((e1 as ProviderError).kind).toBe('rejected');
    expect((e1 as Error).message).toContain("no token labelled 'no-such-token'");
    expect((e1 as Error).message).toContain(`'${token.tokenLabel}'`); // what is there instead
    const e2 = await failure(Pkcs11Provider.open({ ...connection(), libraryPath: '/nonexistent/libpkcs11.so', keyLabel: 'k' }));
    expect(e2).toBeInstanceOf(ProviderError);
    expect((e2 as Error).message).toContain('/nonexistent/libpkcs11.so');
    const e3 = await failure(Pkcs11Provider.open({ ...connection(), keyLabel: 'never-generated' }));
    expect(e3).toBeInstanceOf(ProviderError);
    expect((e3 as Error).message).toContain("no secret key labelled 'never-generated'");
    for (const bad of [
      { keyLabel: 'has#hash' },
      { keyLabel: '' },
      { libraryPath: '' },
      { tokenLabel: 'x'.repeat(33) },
      { pin: '' },
      { mechanism: 'AES_CBC' as never },
      { maxSessions: 0 },
      { timeoutMs: -1 },
    ]) {
      expect(await failure(Pkcs11Provider.open({ ...connection(), keyLabel: 'k', ...bad })), JSON.stringify(bad)).toBeInstanceOf(InvalidInputError);
    }
    // Nothing was left open: each failed open released the library again (C_Finalize), so this handle initialises it afresh.
    const admin = openTokenAdmin(token);
    expect(admin.initialisedHere).toBe(true);
    admin.close({ finalize: true });
  });

  it('rotates: generateKek makes version n+1 (label#n+1), new wraps use it, every version still unwraps until destroyed', async () => {
    const p = await Pkcs11Provider.generateKek({ ...connection(), keyLabel: 'rot' });
    const admin = openTokenAdmin(token);
    try {
      const dek = randomBytes(32);
      const w1 = await p.wrap(dek, ctx);
      expect(w1.kekVersion).toBe('1');
      expect(await p.generateKek()).toBe('2');
      expect(p.kekVersion).toBe('2');
      const w2 = await p.wrap(dek, ctx);
      expect(w2.kekVersion).toBe('2');
      expect(w2.kekId).toBe(w1.kekId);
      expect(admin.find('rot').length).toBe(1);
      expect(admin.find('rot#2').length).toBe(1);
      // Another provider opening the label starts from the newest version.
      const other = await Pkcs11Provider.open({ ...connection(), keyLabel: 'rot' });
      expect(other.kekVersion).toBe('2');
      // A version made by someone else (here another provider, as another process would) is picked up by describe().
      await other.generateKek();
      await other.close();
      expect(p.kekVersion).toBe('2');
      expect((await p.describe()).kekVersion).toBe('3');
      expect(p.kekVersion).toBe('3');
      const rewrapped = await p.rewrap(w1, ctx);
      expect(rewrapped.kekVersion).toBe('3');
      expect(hex(rewrapped.bytes.subarray(40))).toBe(hex(w1.bytes.subarray(40))); // the binding tag travels with the DEK
      for (const w of [w1, w2, rewrapped]) expect(hex(await p.unwrap(w, ctx))).toBe(hex(dek));
      // The rewrap happened in the token, where the binding tag cannot be checked (that needs the DEK): a broken
      // tag is carried over as it is, and refused by the next unwrap (an unwrap + wrap here would have refused it at once).
      const badTag = w1.bytes.slice();
      badTag[71]! ^= 1;
      const forged = await sealWrappedKey('pkcs11', w1.kekId, { ...w1, bytes: badTag }, ctx);
      const moved = await p.rewrap(forged, ctx);
      expect(moved.kekVersion).toBe('3');
      const refused = await failure(p.unwrap(moved, ctx));
      expect(refused).toBeInstanceOf(AuthenticationError);
      expect((refused as AuthenticationError).reason).toBe('wrong-context');
      // Destroying version 1 only: its wrapped keys report 'destroyed', the others still open.
      admin.p11.C_DestroyObject(admin.session, admin.find('rot')[0]!);
      const e = await failure(p.unwrap(w1, ctx));
      expect(e).toBeInstanceOf(KeyStateError);
      expect((e as KeyStateError).state).toBe('destroyed');
      expect(hex(await p.unwrap(rewrapped, ctx))).toBe(hex(dek));
      expect((await p.describe()).state).toBe('enabled');
    } finally {
      admin.close();
      await p.close();
    }
  });

  it('reopens its sessions and logs in again when they are closed behind its back', async () => {
    const p = await Pkcs11Provider.generateKek({ ...connection('AES_GCM'), keyLabel: 'recover', pin: () => token.userPin });
    const admin = openTokenAdmin(token);
    try {
      const dek = randomBytes(32);
      const before = await p.wrap(dek, ctx);
      // Every session of the application on this token, the provider's login included, is gone.
      admin.p11.C_CloseAllSessions(admin.slot);
      expect(() => admin.p11.C_GetSessionInfo(admin.session)).toThrow('CKR_SESSION_HANDLE_INVALID');
      expect(hex(await p.unwrap(before, ctx))).toBe(hex(dek));
      const after = await p.wrap(dek, ctx);
      expect(hex(await p.unwrap(after, ctx))).toBe(hex(dek));
      expect((await p.describe()).state).toBe('enabled');
    } finally {
      admin.close();
      await p.close();
    }
  });

  it('queues callers when all sessions are busy (maxSessions 1, 40 parallel wraps and unwraps)', async () => {
    const p = await Pkcs11Provider.generateKek({ ...connection(), keyLabel: 'one-session', maxSessions: 1 });
    try {
      const deks = Array.from({ length: 40 }, () => randomBytes(32));
      const contexts = deks.map((_, i) => ({ ...ctx, dekId: `dek/queue/${i}` }));
      const wrapped = await Promise.all(deks.map((d, i) => p.wrap(d, contexts[i]!)));
      const opened = await Promise.all(wrapped.map((w, i) => p.unwrap(w, contexts[i]!)));
      opened.forEach((d, i) => expect(hex(d)).toBe(hex(deks[i]!)));
      // A wrong context still fails on its own, without disturbing the queue.
      const results = await Promise.allSettled(wrapped.slice(0, 5).map((w, i) => p.unwrap(w, i === 2 ? { ...contexts[i]!, tenant: 'x' } : contexts[i]!)));
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
      expect((results[2] as PromiseRejectedResult).reason).toBeInstanceOf(AuthenticationError);
    } finally {
      await p.close();
    }
  });
});
