/**
 * The KMIP provider and client (src/kms/kmip.ts, src/kms/kmip/) against the Debian PyKMIP 0.10
 * server, started for this file with its own CA and certificates (_pykmip.ts). The conformance
 * suite runs twice: KMIP 1.4 (AES-256-GCM with the wrap context as additional data) and KMIP 1.2
 * (AES-256-CTR with a binding tag), both through a TCP fault proxy that can hang or drop requests.
 * Then the KMIP specifics: Locate by name, Get with a key wrapping specification, protocol versions,
 * client-certificate authentication, key states, the connection pool, and a stand-in TLS server that
 * answers out of protocol.
 */
import { createDecipheriv } from 'node:crypto';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthenticationError, InvalidInputError, KeyStateError, NotSupportedError, ProviderError } from '../../src/errors.js';
import { destroyKmipKey, KmipProvider, revokeKmipKey, type KmipProviderOptions } from '../../src/kms/kmip.js';
import { KmipClient, KmipResultError } from '../../src/kms/kmip/client.js';
import { KMIP_1_2, KMIP_1_4 } from '../../src/kms/kmip/messages.js';
import { Operation, ResultReason, ResultStatus, State, Tag, UsageMask } from '../../src/kms/kmip/tags.js';
import { byteString, decodeTtlv, encodeTtlv, enumeration, integer, ItemType, structure, textString, type TtlvItem } from '../../src/kms/kmip/ttlv.js';
import type { WrapContext } from '../../src/kms/provider.js';
import { startPyKmip, type PyKmipServer } from './_pykmip.js';
import { runProviderSuite, type ProviderHarness } from './_provider-suite.js';
import { startTcpFaultProxy, type TcpFaultProxy } from './_tcp-fault-proxy.js';

interface Env {
  server: PyKmipServer;
  proxy: TcpFaultProxy;
}

let env: Promise<Env> | undefined;
/** One server and proxy for the whole file, started by whichever block needs them first. */
const started = (): Promise<Env> =>
  (env ??= (async () => {
    const server = await startPyKmip();
    try {
      return { server, proxy: await startTcpFaultProxy({ host: server.host, port: server.port }) };
    } catch (err) {
      await server.stop();
      throw err;
    }
  })());

afterAll(async () => {
  const e = await env?.catch(() => undefined);
  await e?.proxy.close();
  await e?.server.stop();
}, 30_000);

const NOT_APPLICABLE =
  'KMIP has no throttling answer (a busy server just answers later, which the hang test covers) and PyKMIP reports internal errors as a General Failure result, not a retryable 5xx status; only hangs and dropped connections apply to a KMIP transport';

function harness(version: '1.2' | '1.4'): () => Promise<ProviderHarness> {
  return async () => {
    const { server, proxy } = await started();
    const base = { host: proxy.host, port: proxy.port, tls: server.clientTls, protocolVersion: version } as const;
    const name = `vecseal-suite-${version}`;
    const created: KmipProvider[] = [];
    const keep = (p: KmipProvider): KmipProvider => {
      created.push(p);
      return p;
    };
    const provider = keep(await KmipProvider.open({ ...base, keyName: name }));
    let current = await provider.currentVersion();
    const otherKek = keep(await KmipProvider.open({ ...base, keyName: `${name}-other` }));
    let disposables = 0;
    return {
      provider,
      otherKek,
      withOptions: (options) => keep(new KmipProvider({ ...base, keyName: name, keyId: current, ...options })),
      faults: proxy,
      rotateKek: async () => {
        current = await provider.rotate();
      },
      disposableKek: async () => {
        const p = keep(await KmipProvider.open({ ...base, keyName: `${name}-disposable-${++disposables}` }));
        const uid = await p.currentVersion();
        return { provider: p, disable: () => revokeKmipKey(p.client, uid), destroy: () => destroyKmipKey(p.client, uid), destroyedState: 'destroyed' };
      },
      secrets: server.secrets,
      close: async () => {
        await Promise.all(created.map((p) => p.close()));
      },
    };
  };
}

runProviderSuite('kmip (PyKMIP, KMIP 1.4, AES-256-GCM)', { faults: { kinds: ['hang', 'close'], notApplicable: NOT_APPLICABLE }, keyStates: true, destroyKek: { state: 'destroyed' } }, harness('1.4'));
runProviderSuite('kmip (PyKMIP, KMIP 1.2, AES-256-CTR + binding tag)', { faults: { kinds: ['hang', 'close'], notApplicable: NOT_APPLICABLE }, keyStates: true, destroyKek: { state: 'destroyed' } }, harness('1.2'));

const ctx: WrapContext = { dekId: 'dek/kmip/1', keyVersion: 1, collection: 'docs', tenant: 't1' };
const dek = (): Uint8Array => crypto.getRandomValues(new Uint8Array(32));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
let unique = 0;
const uniqueName = (what: string): string => `vecseal-${what}-${Date.now()}-${++unique}`;

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail, and it succeeded');
}

describe('KMIP client and provider against PyKMIP', () => {
  let e: Env;
  let client: KmipClient;
  let client14: KmipClient;
  const providers: KmipProvider[] = [];
  const direct = (extra: Partial<KmipProviderOptions>): KmipProviderOptions => ({ host: e.server.host, port: e.server.port, tls: e.server.clientTls, ...extra });
  const provider = async (extra: Partial<KmipProviderOptions>): Promise<KmipProvider> => {
    const p = await KmipProvider.open(direct(extra));
    providers.push(p);
    return p;
  };

  beforeAll(async () => {
    e = await started();
    client = new KmipClient({ host: e.server.host, port: e.server.port, tls: e.server.clientTls });
    client14 = new KmipClient({ host: e.server.host, port: e.server.port, tls: e.server.clientTls, protocolVersion: KMIP_1_4 });
  });

  afterAll(async () => {
    await Promise.all([client?.close(), client14?.close(), ...providers.map((p) => p.close())]);
  });

  it('locates keys by Name, newest first, and finds nothing for an unknown name', async () => {
    const name = uniqueName('locate');
    const first = await client.create({ name });
    expect(await client.locate({ name })).toEqual([first]);
    await sleep(1100); // Initial Date has one-second resolution
    const second = await client.create({ name });
    expect(await client.locate({ name })).toEqual([second, first]);
    expect(await client.locate({ name, maxItems: 1 })).toEqual([second]);
    expect(await client.locate({ name, state: State.Active })).toEqual([]);
    await client.activate(first);
    expect(await client.locate({ name, state: State.Active })).toEqual([first]);
    expect(await client.locate({ name: uniqueName('nobody') })).toEqual([]);
  });

  it('Get with a Key Wrapping Specification returns the key under NIST AES key wrap (RFC 3394)', async () => {
    const key = await client.create({ name: uniqueName('exported') });
    const wrapper = await client.create({ name: uniqueName('wrapper'), usageMask: UsageMask.WrapKey | UsageMask.UnwrapKey });
    // The wrapping key must be Active and carry Wrap Key.
    const inactive = await rejection(client.exportWrapped(key, wrapper));
    expect(inactive).toBeInstanceOf(KmipResultError);
    expect((inactive as KmipResultError).resultReason).toBe(ResultReason.PermissionDenied);
    await client.activate(wrapper);

    const raw = await client.get(key);
    const kek = await client.get(wrapper);
    const wrapped = await client.exportWrapped(key, wrapper);
    expect(raw.wrapped).toBe(false);
    expect(raw.material).toHaveLength(32);
    expect(wrapped.wrapped).toBe(true);
    expect(wrapped.material).toHaveLength(40);
    expect(Buffer.from(wrapped.material).equals(Buffer.from(raw.material))).toBe(false);
    const unwrap = createDecipheriv('id-aes256-wrap', kek.material, Buffer.from('A6A6A6A6A6A6A6A6', 'hex'));
    const opened = Buffer.concat([unwrap.update(wrapped.material), unwrap.final()]);
    expect(opened.equals(Buffer.from(raw.material))).toBe(true);

    const plain = await client.create({ name: uniqueName('no-wrap-usage'), usageMask: UsageMask.Encrypt });
    await client.activate(plain);
    const noUsage = await rejection(client.exportWrapped(key, plain));
    expect((noUsage as KmipResultError).resultReason).toBe(ResultReason.PermissionDenied);
  });

  it('speaks KMIP 1.4: Discover Versions lists it, and AES-GCM binds the additional data', async () => {
    const versions = await client14.discoverVersions();
    expect(versions).toContainEqual(KMIP_1_4);
    expect(versions).toContainEqual(KMIP_1_2);
    const uid = await client14.create({ name: uniqueName('gcm') });
    await client14.activate(uid);
    const data = dek();
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const aad = new TextEncoder().encode('context A');
    const sealed = await client14.encrypt({ uid, data, mode: 'GCM', iv, aad });
    expect(sealed.tag).toHaveLength(16);
    expect(sealed.iv).toBeUndefined(); // ours was used
    expect(await client14.decrypt({ uid, data: sealed.data, mode: 'GCM', iv, aad, tag: sealed.tag })).toEqual(data);
    // PyKMIP reports a failed tag check as General Failure (cryptography's InvalidTag is not a KMIP error there).
    const wrongAad = await rejection(client14.decrypt({ uid, data: sealed.data, mode: 'GCM', iv, aad: new TextEncoder().encode('context B'), tag: sealed.tag }));
    expect((wrongAad as KmipResultError).resultReason).toBe(ResultReason.GeneralFailure);
    // Without an IV the server makes one and returns it.
    const serverIv = await client14.encrypt({ uid, data, mode: 'GCM', aad });
    expect(serverIv.iv?.length).toBeGreaterThan(0);
    expect(await client14.decrypt({ uid, data: serverIv.data, mode: 'GCM', iv: serverIv.iv!, aad, tag: serverIv.tag })).toEqual(data);
  });

  it('a KMIP 1.2 client refuses additional data before sending anything', async () => {
    const fresh = new KmipClient({ host: e.server.host, port: e.server.port, tls: e.server.clientTls });
    const err = await rejection(fresh.encrypt({ uid: '1', data: dek(), mode: 'GCM', iv: new Uint8Array(12), aad: new Uint8Array(1) }));
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(fresh.connections).toBe(0);
    await fresh.close();
  });

  it('the server refuses a client without a certificate, or with one from another CA; the client refuses an unknown server', async () => {
    const tries: [string, ConstructorParameters<typeof KmipClient>[0]['tls']][] = [
      ['no certificate', { ca: e.server.clientTls.ca }],
      ['foreign certificate', e.server.foreignClientTls],
      ['untrusted server', { ...e.server.clientTls, ca: e.server.foreignClientTls.cert }],
    ];
    for (const [what, tls] of tries) {
      const c = new KmipClient({ host: e.server.host, port: e.server.port, tls });
      const err = await rejection(c.discoverVersions());
      await c.close();
      expect(err, what).toBeInstanceOf(ProviderError);
      expect((err as ProviderError).kind, `${what}: ${(err as Error).message}`).toBe('rejected');
      expect(c.connections).toBe(0);
    }
  });

  it('reports a compromised, then destroyed KEK through describe, wrap and unwrap', async () => {
    const p = await provider({ keyName: uniqueName('compromise') });
    const uid = await p.currentVersion();
    const wrapped = await p.wrap(dek(), ctx);
    await revokeKmipKey(p.client, uid, true);
    expect((await p.describe()).state).toBe('compromised');
    for (const call of [() => p.unwrap(wrapped, ctx), () => p.wrap(dek(), ctx)]) {
      const err = await rejection(call());
      expect(err).toBeInstanceOf(KeyStateError);
      expect((err as KeyStateError).state).toBe('compromised');
    }
    await p.client.destroy(uid);
    expect((await p.describe()).state).toBe('destroyed');
    const gone = await rejection(p.unwrap(wrapped, ctx));
    expect((gone as KeyStateError).state).toBe('destroyed');
  });

  it('a KEK named by Unique Identifier: Pre-Active is disabled, Active wraps, no versions', async () => {
    const uid = await client.create();
    const p = new KmipProvider(direct({ keyId: uid }));
    providers.push(p);
    expect(p.kekId).toBe(uid);
    expect((await p.describe()).state).toBe('disabled');
    const preActive = await rejection(p.wrap(dek(), ctx));
    expect((preActive as KeyStateError).state).toBe('disabled');
    await client.activate(uid);
    const d = dek();
    const wrapped = await p.wrap(d, ctx);
    expect(wrapped).toMatchObject({ provider: 'kmip', kekId: uid, kekVersion: uid, algorithm: 'A256GCM' });
    expect(await p.unwrap(wrapped, ctx)).toEqual(d);
    expect(await rejection(p.rotate())).toBeInstanceOf(NotSupportedError);
  });

  it('a named KEK refuses a version that does not carry its name', async () => {
    const p = await provider({ keyName: uniqueName('owner') });
    const stranger = await provider({ keyName: uniqueName('stranger') });
    const theirs = await stranger.wrap(dek(), ctx);
    // Same provider id and the owner's KEK name, but the stranger's key as the version.
    const { sealWrappedKey } = await import('../../src/kms/provider.js');
    const forged = await sealWrappedKey('kmip', p.kekId, { ...theirs, kekId: p.kekId }, ctx);
    const err = await rejection(p.unwrap(forged, ctx));
    expect(err).toBeInstanceOf(AuthenticationError);
    expect((err as AuthenticationError).reason).toBe('wrong-key');
  });

  it('createIfMissing false: an unknown key name is a KeyStateError, and nothing is created', async () => {
    const name = uniqueName('missing');
    const err = await rejection(KmipProvider.open(direct({ keyName: name, createIfMissing: false })));
    expect(err).toBeInstanceOf(KeyStateError);
    expect(await client.locate({ name })).toEqual([]);
  });

  it('KMIP 1.2 and 1.4 providers of one KEK: 1.4 opens both formats, 1.2 cannot open A256GCM', async () => {
    const name = uniqueName('versions');
    const p14 = await provider({ keyName: name, protocolVersion: '1.4' });
    const p12 = await provider({ keyName: name, protocolVersion: '1.2' });
    expect(await p12.currentVersion()).toBe(await p14.currentVersion());
    const d = dek();
    const gcm = await p14.wrap(d, ctx);
    const ctr = await p12.wrap(d, ctx);
    expect(ctr.algorithm).toBe('A256CTR+BIND');
    expect(ctr.bytes).toHaveLength(16 + 32 + 32);
    expect(await p14.unwrap(ctr, ctx)).toEqual(d);
    expect(await rejection(p12.unwrap(gcm, ctx))).toBeInstanceOf(NotSupportedError);
    const other = await rejection(p14.unwrap(ctr, { ...ctx, tenant: 't2' }));
    expect((other as AuthenticationError).reason).toBe('wrong-context');
  });

  it('reconnects after the server side drops idle connections', async () => {
    const p = new KmipProvider({ host: e.proxy.host, port: e.proxy.port, tls: e.server.clientTls, keyName: uniqueName('reconnect') });
    providers.push(p);
    const d = dek();
    const wrapped = await p.wrap(d, ctx);
    expect(p.client.connections).toBeGreaterThan(0);
    const before = e.proxy.connections();
    e.proxy.dropAll();
    await sleep(100);
    expect(p.client.connections).toBe(0);
    expect(await p.unwrap(wrapped, ctx)).toEqual(d);
    expect(e.proxy.connections()).toBe(before + 1);
  });

  it('keeps at most maxConnections TLS connections, one request on each at a time', async () => {
    const p = new KmipProvider({ host: e.proxy.host, port: e.proxy.port, tls: e.server.clientTls, keyName: uniqueName('pool'), maxConnections: 2 });
    providers.push(p);
    await p.currentVersion();
    const before = e.proxy.connections();
    const items = Array.from({ length: 30 }, () => dek());
    const wrapped = await Promise.all(items.map((d) => p.wrap(d, ctx)));
    const opened = await Promise.all(wrapped.map((w) => p.unwrap(w, ctx)));
    opened.forEach((d, i) => expect(d).toEqual(items[i]));
    expect(e.proxy.connections() - before).toBeLessThanOrEqual(2);
    expect(p.client.connections).toBeLessThanOrEqual(2);
  });
});

describe('KMIP client against a stand-in TLS server that breaks the protocol', () => {
  type Answer = (request: { id: Uint8Array | undefined; operation: number }) => Uint8Array | 'close' | 'silence';
  let e: Env;
  let server: TlsServer;
  let port = 0;
  let answer: Answer = () => 'close';
  const sockets = new Set<TLSSocket>();

  const response = (id: Uint8Array | undefined, operation: number, fields: TtlvItem[]): Uint8Array =>
    encodeTtlv(
      structure(Tag.ResponseMessage, [
        structure(Tag.ResponseHeader, [
          structure(Tag.ProtocolVersion, [integer(Tag.ProtocolVersionMajor, 1), integer(Tag.ProtocolVersionMinor, 2)]),
          integer(Tag.BatchCount, 1),
        ]),
        structure(Tag.BatchItem, [enumeration(Tag.Operation, operation), ...(id ? [byteString(Tag.UniqueBatchItemId, id)] : []), ...fields]),
      ]),
    );

  beforeAll(async () => {
    e = await started();
    server = createTlsServer({ ...e.server.serverTls, ca: e.server.clientTls.ca, requestCert: true, rejectUnauthorized: true }, (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
      let buffer: Buffer = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        buffer = Buffer.concat([buffer, chunk]);
        if (buffer.length < 8 || buffer.length < 8 + buffer.readUInt32BE(4)) return;
        const request = decodeTtlv(buffer);
        buffer = Buffer.alloc(0);
        const item = request.type === ItemType.Structure ? request.value.find((i) => i.tag === Tag.BatchItem) : undefined;
        const fields = item?.type === ItemType.Structure ? item.value : [];
        const id = fields.find((f) => f.tag === Tag.UniqueBatchItemId)?.value as Uint8Array | undefined;
        const operation = fields.find((f) => f.tag === Tag.Operation)?.value as number;
        const reply = answer({ id, operation });
        if (reply === 'close') socket.destroy();
        else if (reply !== 'silence') socket.write(reply);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
  });

  const scenarios: [string, Answer, (err: unknown) => void][] = [
    ['garbage instead of a response', () => Uint8Array.from([0x43, 0, 0, 1, 0, 0, 0, 0]), (err) => expect((err as ProviderError).kind).toBe('protocol')],
    ['a response for another request', ({ operation }) => response(new Uint8Array(8), operation, [enumeration(Tag.ResultStatus, ResultStatus.Success)]), (err) => expect((err as ProviderError).kind).toBe('protocol')],
    ['a response to another operation', ({ id }) => response(id, Operation.Destroy, [enumeration(Tag.ResultStatus, ResultStatus.Success)]), (err) => expect((err as ProviderError).kind).toBe('protocol')],
    [
      'a response larger than allowed',
      () => {
        const header = Buffer.from([0x42, 0x00, 0x7b, 0x01, 0, 0, 0, 0]);
        header.writeUInt32BE(64 << 20, 4);
        return header;
      },
      (err) => expect((err as ProviderError).kind).toBe('protocol'),
    ],
    ['a malformed response body', ({ id, operation }) => {
      const ok = response(id, operation, [enumeration(Tag.ResultStatus, ResultStatus.Success)]);
      ok[ok.length - 1] = 1; // non-zero padding in the last item
      return ok;
    }, (err) => expect((err as ProviderError).kind).toBe('protocol')],
    ['two responses at once', ({ id, operation }) => {
      const ok = response(id, operation, [enumeration(Tag.ResultStatus, ResultStatus.Success)]);
      return Buffer.concat([ok, ok]);
    }, (err) => expect((err as ProviderError).kind).toBe('protocol')],
    ['a closed connection', () => 'close', (err) => expect((err as ProviderError).kind).toBe('network')],
    [
      'a failure result',
      ({ id, operation }) => response(id, operation, [enumeration(Tag.ResultStatus, ResultStatus.OperationFailed), enumeration(Tag.ResultReason, ResultReason.OperationNotSupported), textString(Tag.ResultMessage, 'no')]),
      (err) => {
        expect(err).toBeInstanceOf(KmipResultError);
        expect((err as KmipResultError).kind).toBe('rejected');
        expect((err as KmipResultError).providerCode).toBe('Operation Not Supported');
      },
    ],
  ];
  for (const [name, reply, check] of scenarios) {
    it(`${name}: a ProviderError, and the connection is not reused`, async () => {
      answer = reply;
      const c = new KmipClient({ host: '127.0.0.1', port, tls: e.server.clientTls, maxResponseBytes: 1 << 16 });
      const err = await rejection(c.discoverVersions());
      expect(err).toBeInstanceOf(ProviderError);
      check(err);
      if (!(err instanceof KmipResultError)) {
        await sleep(20);
        expect(c.connections).toBe(0);
      }
      await c.close();
    });
  }

  it('a silent server: the caller signal ends the call and the connection', async () => {
    answer = () => 'silence';
    const c = new KmipClient({ host: '127.0.0.1', port, tls: e.server.clientTls });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('enough')), 100);
    const err = await rejection(c.discoverVersions({ signal: controller.signal }));
    expect((err as Error).message).toBe('enough');
    expect(c.connections).toBe(0);
    await c.close();
    expect(await rejection(c.discoverVersions())).toMatchObject({ code: 'CLOSED' });
  });
});
