/**
 * How one provider is measured: a warm-up (connections, keys, JIT), then latency (sequential wraps,
 * then sequential unwraps of what they made), throughput (a batch of wraps, then of unwraps, with a
 * fixed number in flight), generateDataKey where the service has its own call, and for Vault Transit
 * rewrapMany against single rewraps. Every DEK that comes back is compared with the one that went in
 * after each timed phase (outside the clock): a provider that returns a wrong key fails the run
 * instead of posting a number.
 */
import { encodeWrappedKey, type KeyProvider, type WrapContext, type WrappedKey } from '../../src/kms/provider.js';
import type { VaultRewrapResult, VaultTransitProvider } from '../../src/kms/vault-transit.js';

export interface Counts {
  /** Sequential wrap + unwrap round trips before timing (plus one burst at full concurrency). */
  warmup: number;
  /** Sequential operations timed one by one. */
  latency: number;
  /** Operations in each throughput batch. */
  throughput: number;
  /** Operations in flight during a throughput batch. */
  concurrency: number;
  /** Wrapped DEKs re-wrapped by rewrapMany and by single rewraps (Vault Transit). */
  rewrap: number;
}

export type Preset = 'full' | 'quick';

const COUNTS: Record<Preset, Counts> = {
  full: { warmup: 20, latency: 200, throughput: 1000, concurrency: 16, rewrap: 1000 },
  quick: { warmup: 3, latency: 20, throughput: 64, concurrency: 16, rewrap: 64 },
};

export function countsFor(preset: Preset): Counts {
  return COUNTS[preset];
}

/** Milliseconds; percentiles by nearest rank. */
export interface Stats {
  n: number;
  p50: number;
  p95: number;
  mean: number;
  min: number;
  max: number;
}

export function statsOf(ms: readonly number[]): Stats {
  if (ms.length === 0) throw new Error('no timings');
  const sorted = [...ms].sort((a, b) => a - b);
  const rank = (p: number): number => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
  return { n: sorted.length, p50: rank(0.5), p95: rank(0.95), mean: sorted.reduce((s, x) => s + x, 0) / sorted.length, min: sorted[0]!, max: sorted.at(-1)! };
}

export interface Throughput {
  operations: number;
  concurrency: number;
  seconds: number;
  opsPerSecond: number;
}

export interface RewrapComparison {
  count: number;
  /** One rewrapMany call for all of them (batch_input; Vault caps a request at 1000). */
  batch: Throughput;
  /** provider.rewrap one at a time. */
  singleSequential: Throughput;
  /** provider.rewrap with `concurrency` in flight. */
  singleConcurrent: Throughput;
}

export interface Measured {
  counts: Counts;
  wrap: Stats;
  unwrap: Stats;
  wrapThroughput: Throughput;
  unwrapThroughput: Throughput;
  /** Only where the service generates the DEK in one call. */
  generateDataKey?: Stats | undefined;
  rewrap?: RewrapComparison | undefined;
  /** Size of one wrapped key serialised with encodeWrappedKey (FORMAT.md). */
  wrappedKeyBytes: number;
  /** Every timed operation, ms, in order. */
  raw: { wrapMs: number[]; unwrapMs: number[]; generateDataKeyMs?: number[] | undefined };
}

interface Item {
  dek: Uint8Array;
  context: WrapContext;
}

let batchNo = 0;

/** Fresh DEKs, each under its own context (as records' DEKs would be). */
function items(count: number): Item[] {
  const tag = ++batchNo;
  return Array.from({ length: count }, (_, i) => ({
    dek: crypto.getRandomValues(new Uint8Array(32)),
    context: { dekId: `bench/${tag}/${i}`, keyVersion: 1, collection: 'bench', tenant: 'acme' },
  }));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Throws (naming the phase and index, never bytes) unless every DEK came back unchanged. */
function checkDeks(phase: string, expected: readonly Item[], got: readonly Uint8Array[]): void {
  if (got.length !== expected.length) throw new Error(`${phase}: ${got.length} results for ${expected.length} operations`);
  for (let i = 0; i < got.length; i++) {
    if (!sameBytes(expected[i]!.dek, got[i]!)) throw new Error(`${phase}: operation ${i} returned a different DEK than was wrapped`);
  }
}

/** Runs fn over the inputs one at a time, timing each call. */
async function sequential<I, O>(inputs: readonly I[], fn: (input: I) => Promise<O>): Promise<{ ms: number[]; out: O[] }> {
  const ms: number[] = [];
  const out: O[] = [];
  for (const input of inputs) {
    const start = performance.now();
    out.push(await fn(input));
    ms.push(performance.now() - start);
  }
  return { ms, out };
}

/** Runs fn over the inputs with `concurrency` calls in flight; times the whole batch. */
async function concurrent<I, O>(inputs: readonly I[], concurrency: number, fn: (input: I) => Promise<O>): Promise<{ throughput: Throughput; out: O[] }> {
  const out = new Array<O>(inputs.length);
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, inputs.length) }, async () => {
      while (next < inputs.length) {
        const i = next++;
        out[i] = await fn(inputs[i]!);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  return { throughput: { operations: inputs.length, concurrency, seconds, opsPerSecond: inputs.length / seconds }, out };
}

const wrapOf = (p: KeyProvider) => (item: Item): Promise<WrappedKey> => p.wrap(item.dek, item.context);

/** Unwraps the pairs and checks the DEKs (untimed). */
async function unwrapAndCheck(phase: string, p: KeyProvider, expected: readonly Item[], wrapped: readonly WrappedKey[], concurrency: number): Promise<void> {
  const { out } = await concurrent(expected.map((item, i) => ({ item, w: wrapped[i]! })), concurrency, ({ item, w }) => p.unwrap(w, item.context));
  checkDeks(phase, expected, out);
}

async function warmUp(p: KeyProvider, counts: Counts): Promise<void> {
  const seq = items(counts.warmup);
  const wrapped = (await sequential(seq, wrapOf(p))).out;
  checkDeks('warm-up', seq, (await sequential(seq.map((item, i) => ({ item, w: wrapped[i]! })), ({ item, w }) => p.unwrap(w, item.context))).out);
  // A burst at full concurrency opens the connections (and sessions) the throughput phases use.
  const burst = items(counts.concurrency * 2);
  await unwrapAndCheck('warm-up burst', p, burst, (await concurrent(burst, counts.concurrency, wrapOf(p))).out, counts.concurrency);
}

/**
 * Measures one provider.
 * @param nativeDataKey also time generateDataKey
 */
export async function measureProvider(p: KeyProvider, counts: Counts, nativeDataKey: boolean, log: (line: string) => void): Promise<Measured> {
  await warmUp(p, counts);

  const seq = items(counts.latency);
  const wrapped = await sequential(seq, wrapOf(p));
  const unwrapped = await sequential(seq.map((item, i) => ({ item, w: wrapped.out[i]! })), ({ item, w }) => p.unwrap(w, item.context));
  checkDeks('latency', seq, unwrapped.out);
  const wrap = statsOf(wrapped.ms);
  const unwrap = statsOf(unwrapped.ms);
  log(`  latency (${counts.latency} sequential): wrap p50 ${wrap.p50.toFixed(3)} ms, unwrap p50 ${unwrap.p50.toFixed(3)} ms`);

  const batch = items(counts.throughput);
  const wrapBatch = await concurrent(batch, counts.concurrency, wrapOf(p));
  const unwrapBatch = await concurrent(batch.map((item, i) => ({ item, w: wrapBatch.out[i]! })), counts.concurrency, ({ item, w }) => p.unwrap(w, item.context));
  checkDeks('throughput', batch, unwrapBatch.out);
  log(`  throughput (${counts.throughput}, ${counts.concurrency} in flight): wrap ${Math.round(wrapBatch.throughput.opsPerSecond)} ops/s, unwrap ${Math.round(unwrapBatch.throughput.opsPerSecond)} ops/s`);

  let generateDataKey: Stats | undefined;
  let generateDataKeyMs: number[] | undefined;
  if (nativeDataKey) {
    if (!p.generateDataKey) throw new Error(`${p.id} has no generateDataKey`);
    const contexts = items(counts.latency);
    const made = await sequential(contexts, (item) => p.generateDataKey!(item.context));
    const expected = made.out.map((m, i) => ({ dek: m.dek, context: contexts[i]!.context }));
    await unwrapAndCheck('generateDataKey', p, expected, made.out.map((m) => m.wrapped), counts.concurrency);
    generateDataKeyMs = made.ms;
    generateDataKey = statsOf(made.ms);
    log(`  generateDataKey (${counts.latency} sequential): p50 ${generateDataKey.p50.toFixed(3)} ms`);
  }

  return {
    counts,
    wrap,
    unwrap,
    wrapThroughput: wrapBatch.throughput,
    unwrapThroughput: unwrapBatch.throughput,
    generateDataKey,
    wrappedKeyBytes: encodeWrappedKey(wrapped.out[0]!).length,
    raw: { wrapMs: wrapped.ms, unwrapMs: unwrapped.ms, generateDataKeyMs },
  };
}

/**
 * Vault Transit: `count` DEKs wrapped under key version 1, the key rotated, then the same wrapped
 * keys re-wrapped three ways (one rewrapMany; single rewraps one at a time; single rewraps with
 * `concurrency` in flight). Each result must name the new version and unwrap to the original DEK.
 */
export async function measureBatchRewrap(p: VaultTransitProvider, rotate: () => Promise<void>, counts: Counts, log: (line: string) => void): Promise<RewrapComparison> {
  const keys = items(counts.rewrap);
  const { out: original } = await concurrent(keys, counts.concurrency, wrapOf(p));
  await rotate();
  const before = original[0]!.kekVersion;

  const check = async (phase: string, rewrapped: readonly WrappedKey[]): Promise<void> => {
    const stale = rewrapped.findIndex((w) => w.kekVersion === before);
    if (stale >= 0) throw new Error(`${phase}: item ${stale} still names key version ${before}`);
    await unwrapAndCheck(phase, p, keys, rewrapped, counts.concurrency);
  };

  // Single rewraps first, so rewrapMany runs on a warm connection too.
  const one = (k: { item: Item; w: WrappedKey }): Promise<WrappedKey> => p.rewrap(k.w, k.item.context);
  const pairs = keys.map((item, i) => ({ item, w: original[i]! }));
  const seqStart = performance.now();
  const seq = await sequential(pairs, one);
  const seqSeconds = (performance.now() - seqStart) / 1000;
  await check('single rewraps (sequential)', seq.out);
  const conc = await concurrent(pairs, counts.concurrency, one);
  await check(`single rewraps (${counts.concurrency} in flight)`, conc.out);

  const batchStart = performance.now();
  const results: VaultRewrapResult[] = await p.rewrapMany(pairs.map(({ item, w }) => ({ wrapped: w, context: item.context })));
  const batchSeconds = (performance.now() - batchStart) / 1000;
  const failed = results.findIndex((r) => !r.ok);
  if (failed >= 0) throw new Error(`rewrapMany: item ${failed} failed: ${(results[failed] as { error: Error }).error.message}`);
  await check('rewrapMany', results.map((r) => (r as { wrapped: WrappedKey }).wrapped));

  const throughput = (seconds: number, concurrency: number): Throughput => ({ operations: keys.length, concurrency, seconds, opsPerSecond: keys.length / seconds });
  const comparison: RewrapComparison = {
    count: keys.length,
    batch: throughput(batchSeconds, 1),
    singleSequential: throughput(seqSeconds, 1),
    singleConcurrent: conc.throughput,
  };
  log(`  rewrap ${keys.length}: rewrapMany ${(batchSeconds * 1000).toFixed(1)} ms, single sequential ${(seqSeconds * 1000).toFixed(1)} ms, single ${counts.concurrency} in flight ${(conc.throughput.seconds * 1000).toFixed(1)} ms`);
  return comparison;
}
