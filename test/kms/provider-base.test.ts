/**
 * BaseKeyProvider and the wrapped-key envelope, with a provider whose behaviour each test scripts:
 * timeouts (also for calls that ignore their signal), retries only for throttling and server
 * errors with bounded jittered backoff, abort, late DEKs wiped, results checked, and the binary
 * wrapped-key form (round trip, a fixed vector, malformed input).
 */
import { describe, expect, it } from 'vitest';
import { AbortedError, AuthenticationError, FormatError, InvalidInputError, ProviderError } from '../../src/errors.js';
import {
  BaseKeyProvider,
  decodeWrappedKey,
  encodeWrappedKey,
  sealWrappedKey,
  type Attempt,
  type KekDescription,
  type ProviderOptions,
  type RawWrapped,
  type WrapContext,
  type WrappedKey,
} from '../../src/kms/provider.js';

type Script = (attempt: Attempt, op: 'wrap' | 'unwrap') => Promise<unknown>;

class ScriptedProvider extends BaseKeyProvider {
  readonly id = 'scripted';
  readonly kekId = 'kek-1';
  calls = 0;
  constructor(private readonly script: Script, options?: ProviderOptions) {
    super(options);
  }
  protected async wrapKey(dek: Uint8Array, _c: WrapContext, attempt: Attempt): Promise<RawWrapped> {
    this.calls++;
    await this.script(attempt, 'wrap');
    return { bytes: dek.map((b) => b ^ 0x5a), algorithm: 'XOR-TEST' };
  }
  protected async unwrapKey(w: WrappedKey, _c: WrapContext, attempt: Attempt): Promise<Uint8Array> {
    this.calls++;
    const out = await this.script(attempt, 'unwrap');
    return out instanceof Uint8Array ? out : w.bytes.map((b) => b ^ 0x5a);
  }
  protected async describeKey(): Promise<KekDescription> {
    return { provider: this.id, kekId: this.kekId, state: 'enabled', algorithm: 'XOR-TEST', canUnwrap: true };
  }
}

const ctx = { dekId: 'd', keyVersion: 1, collection: 'c', tenant: '' };
const ok: Script = async () => undefined;
const fast = { timeoutMs: 100, retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 } };

describe('BaseKeyProvider', () => {
  it('retries throttled and unavailable failures, then succeeds', async () => {
    let n = 0;
    const p = new ScriptedProvider(async () => {
      if (n++ < 2) throw new ProviderError('slow down', { kind: n === 1 ? 'throttled' : 'unavailable' });
    }, fast);
    const w = await p.wrap(new Uint8Array(32).fill(7), ctx);
    expect(p.calls).toBe(3);
    expect(await p.unwrap(w, ctx)).toEqual(new Uint8Array(32).fill(7));
  });

  it('gives up after maxAttempts and says how many attempts were made', async () => {
    const p = new ScriptedProvider(async () => {
      throw new ProviderError('busy', { kind: 'throttled', providerCode: 'ThrottlingException' });
    }, fast);
    const err = (await p.wrap(new Uint8Array(32), ctx).catch((e: unknown) => e)) as ProviderError;
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ kind: 'throttled', attempts: 3, providerCode: 'ThrottlingException' });
    expect(p.calls).toBe(3);
  });

  it('does not retry rejected, network, protocol or unknown failures', async () => {
    for (const failure of [new ProviderError('no', { kind: 'rejected' }), new ProviderError('closed', { kind: 'network' }), new TypeError('bug')]) {
      const p = new ScriptedProvider(async () => {
        throw failure;
      }, fast);
      const err = await p.wrap(new Uint8Array(32), ctx).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProviderError);
      expect(p.calls).toBe(1);
    }
  });

  it('backoff stays within maxDelayMs (full jitter)', async () => {
    const p = new ScriptedProvider(async () => {
      throw new ProviderError('busy', { kind: 'unavailable' });
    }, { timeoutMs: 1000, retry: { maxAttempts: 4, baseDelayMs: 1000, maxDelayMs: 30 } });
    const started = performance.now();
    await p.wrap(new Uint8Array(32), ctx).catch(() => undefined);
    expect(performance.now() - started).toBeLessThan(3 * 30 + 200);
  });

  it('times out an attempt that ignores its signal, and wipes the DEK that arrives late', async () => {
    const late = new Uint8Array(32).fill(9);
    let resolveLate!: () => void;
    const arrived = new Promise<void>((r) => (resolveLate = r));
    const p = new ScriptedProvider(async (_a, op) => {
      if (op === 'wrap') return;
      await new Promise((r) => setTimeout(r, 250));
      resolveLate();
      return late;
    }, fast);
    const w = await p.wrap(new Uint8Array(32), ctx);
    const err = (await p.unwrap(w, ctx).catch((e: unknown) => e)) as ProviderError;
    expect(err).toMatchObject({ code: 'PROVIDER_ERROR', kind: 'timeout', attempts: 1 });
    await arrived;
    await new Promise((r) => setTimeout(r, 0));
    expect(late.every((b) => b === 0)).toBe(true);
  });

  it('aborts on the caller signal, also during backoff; the attempt signal fires too', async () => {
    let seen: AbortSignal | undefined;
    const p = new ScriptedProvider(async (attempt) => {
      seen = attempt.signal;
      await new Promise((r) => setTimeout(r, 1000));
    }, { timeoutMs: 5000 });
    const c = new AbortController();
    setTimeout(() => c.abort(), 20);
    await expect(p.wrap(new Uint8Array(32), ctx, { signal: c.signal })).rejects.toBeInstanceOf(AbortedError);
    expect(seen?.aborted).toBe(true);
    const q = new ScriptedProvider(async () => {
      throw new ProviderError('busy', { kind: 'throttled' });
    }, { timeoutMs: 1000, retry: { maxAttempts: 5, baseDelayMs: 10_000, maxDelayMs: 10_000 } });
    const c2 = new AbortController();
    setTimeout(() => c2.abort(), 30);
    const started = performance.now();
    await expect(q.wrap(new Uint8Array(32), ctx, { signal: c2.signal })).rejects.toBeInstanceOf(AbortedError);
    expect(performance.now() - started).toBeLessThan(1000);
    const c3 = new AbortController();
    c3.abort();
    await expect(p.wrap(new Uint8Array(32), ctx, { signal: c3.signal })).rejects.toBeInstanceOf(AbortedError);
  });

  it('refuses a wrong-sized DEK from the provider and wipes it', async () => {
    const short = new Uint8Array(31).fill(1);
    const p = new ScriptedProvider(async (_a, op) => (op === 'unwrap' ? short : undefined));
    const w = await p.wrap(new Uint8Array(32), ctx);
    await expect(p.unwrap(w, ctx)).rejects.toMatchObject({ kind: 'protocol' });
    expect(short.every((b) => b === 0)).toBe(true);
  });

  it('an AuthenticationError from the KEK becomes reason wrong-key; digests catch context and tampering first', async () => {
    const p = new ScriptedProvider(async (_a, op) => {
      if (op === 'unwrap') throw new AuthenticationError('tag mismatch');
    });
    const w = await p.wrap(new Uint8Array(32), ctx);
    await expect(p.unwrap(w, ctx)).rejects.toMatchObject({ reason: 'wrong-key' });
    await expect(p.unwrap(w, { ...ctx, tenant: 'x' })).rejects.toMatchObject({ reason: 'wrong-context' });
    await expect(p.unwrap({ ...w, bytes: w.bytes.map((b, i) => (i === 0 ? b ^ 1 : b)) }, ctx)).rejects.toMatchObject({ reason: 'tampered' });
    await expect(p.unwrap({ ...w, kekId: 'kek-2' }, ctx)).rejects.toMatchObject({ reason: 'tampered' });
    const moved = await sealWrappedKey('scripted', 'kek-2', { ...w, kekId: 'kek-2' }, ctx);
    await expect(p.unwrap(moved, ctx)).rejects.toMatchObject({ reason: 'wrong-key' });
  });

  it('checks its options', () => {
    expect(() => new ScriptedProvider(ok, { timeoutMs: 0 })).toThrow(InvalidInputError);
    expect(() => new ScriptedProvider(ok, { retry: { maxAttempts: 0 } })).toThrow(InvalidInputError);
    expect(() => new ScriptedProvider(ok, { retry: { baseDelayMs: -1 } })).toThrow(InvalidInputError);
  });
});

describe('wrapped-key binary form (FORMAT.md "Wrapped keys")', () => {
  const hexOf = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  const fromHex = (h: string): Uint8Array => Uint8Array.from(h.match(/../g)!.map((x) => parseInt(x, 16)));

  it('matches the fixed vector in FORMAT.md and round-trips', async () => {
    const w = await sealWrappedKey('aws-kms', 'arn:k', { bytes: Uint8Array.of(1, 2, 3), algorithm: 'AWS-KMS', kekVersion: 'v2' }, { dekId: 'dek/docs/', keyVersion: 1, collection: 'docs', tenant: '' });
    const bytes = encodeWrappedKey(w);
    expect(hexOf(bytes)).toBe(
      '5653574b01' +
        '0100000007' + hexOf(new TextEncoder().encode('aws-kms')) +
        '0200000005' + hexOf(new TextEncoder().encode('arn:k')) +
        '0300000002' + hexOf(new TextEncoder().encode('v2')) +
        '0400000007' + hexOf(new TextEncoder().encode('AWS-KMS')) +
        '0500000003010203' +
        '0600000010' + hexOf(w.contextDigest) +
        '0800000010' + hexOf(w.checksum),
    );
    expect(hexOf(w.contextDigest)).toBe(FORMAT_VECTOR.contextDigest);
    expect(hexOf(w.checksum)).toBe(FORMAT_VECTOR.checksum);
    expect(decodeWrappedKey(bytes)).toEqual(w);
  });

  it('refuses malformed input with FormatError, skips unknown optional fields', () => {
    const good = fromHex(FORMAT_VECTOR.encoded);
    expect(decodeWrappedKey(good).provider).toBe('aws-kms');
    const cases: Uint8Array[] = [
      good.slice(0, 3),
      Uint8Array.from([0x58, ...good.slice(1)]),
      Uint8Array.from([...good.slice(0, 4), 2, ...good.slice(5)]),
      good.slice(0, good.length - 1),
      Uint8Array.from([...good, 0x7f, 0, 0, 0, 0]),
      Uint8Array.from([...good.slice(0, 5), ...good.slice(5 + 12)]), // provider field missing
    ];
    for (const bad of cases) expect(() => decodeWrappedKey(bad)).toThrow(FormatError);
    // Fields out of order: swap provider and kekId.
    const swapped = Uint8Array.from([...good.slice(0, 5), ...good.slice(17, 27), ...good.slice(5, 17), ...good.slice(27)]);
    expect(() => decodeWrappedKey(swapped)).toThrow(FormatError);
    // An unknown tag >= 0x80 at the end is skipped.
    expect(decodeWrappedKey(Uint8Array.from([...good, 0x90, 0, 0, 0, 1, 0xff])).checksum).toEqual(decodeWrappedKey(good).checksum);
    expect(() => decodeWrappedKey('x' as never)).toThrow(InvalidInputError);
  });
});

/** Fixed values of the vector above, also printed in FORMAT.md. */
const FORMAT_VECTOR = {
  contextDigest: '4a11c00e6a82a83d59fb7b68d26d989d',
  checksum: 'bc621311c47e9570c16ce1c38ac5cdbc',
  encoded:
    '5653574b0101000000076177732d6b6d73020000000561726e3a6b0300000002763204000000074157532d4b4d5305000000030102030600000010' +
    '4a11c00e6a82a83d59fb7b68d26d989d0800000010bc621311c47e9570c16ce1c38ac5cdbc',
};
