/**
 * The core benchmark, runtime-agnostic: the same code runs in Node (bench/node-bench.ts) and in
 * each browser page (bench/browser/main.ts). For every workload it cross-validates each
 * contender's output byte for byte against vecseal's one-shot functions, warms the contender up,
 * times whole-workload rounds, reports the median, and quotes vecseal's speed as a ratio of each
 * baseline measured in the same run.
 *
 * Measures single-thread throughput only: no workers, so the numbers show what the WASM core does
 * per core, and the baselines are what a user would write on the same thread.
 */
import type { Core } from '../src/core/index.js';
import type { Contender, Outputs } from './contenders/contender.js';
import type { Clock } from './timing.js';
import { median, timeRounds } from './timing.js';
import {
  DERIVED_BYTES,
  makeHkdfData,
  makeSealData,
  sliceHkdf,
  sliceSeal,
  truncateSeal,
  type HkdfData,
  type HkdfWorkload,
  type Preset,
  type PresetName,
  type RandomFill,
  type SealData,
  type SealWorkload,
  type Workload,
  type WorkloadId,
} from './workloads.js';

/** A single huge message is warmed up on its first MiB: the code path is the same, the cost is not. */
const WARMUP_ONE_CALL_BYTES = 1024 * 1024;

export interface BenchEnv extends Clock {
  readonly core: Core;
  /** vecseal first: its median is the numerator of every ratio. */
  readonly contenders: readonly Contender[];
  readonly fill: RandomFill;
  /** The sha256 of the core's embedded .wasm, so each runtime's numbers name the build they measured. */
  readonly coreBuild: string;
  log(line: string): void;
}

/** One contender variant's timed rounds on one workload. */
export interface Measurement {
  readonly variant: string | null;
  readonly roundsSeconds: number[];
  readonly medianSeconds: number;
  readonly recordsPerSecond: number;
  /** Plaintext megabytes (10^6 bytes) per second; null for HKDF, which has no plaintext. */
  readonly mbPerSecond: number | null;
}

/** One table row: a contender on a workload, its fastest variant, and the ratio vecseal ÷ it. */
export interface Row extends Measurement {
  readonly workload: WorkloadId;
  readonly workloadTitle: string;
  readonly count: number;
  readonly recordBytes: number | null;
  readonly contender: string;
  /** vecseal records/s ÷ this contender's records/s (1 for vecseal itself). */
  readonly vecsealRatio: number;
  /** Slower variants of the same contender, measured in the same run. */
  readonly otherVariants: Measurement[];
  readonly note: string | null;
}

export interface BenchRun {
  readonly preset: PresetName;
  readonly coreBuild: string;
  readonly rows: Row[];
  readonly totalSeconds: number;
}

interface Job<D> {
  readonly data: D;
  /** The warm-up slice; every item it yields is cross-validated before timing. */
  readonly warm: D;
  readonly plaintextBytes: number | null;
  /** vecseal's one-shot answer for item i of `d`: the independent reference every contender must match. */
  reference(d: D, i: number): Uint8Array;
  /** null when the contender does not do this kind of work. */
  prepare(c: Contender): Promise<(d: D) => Promise<Outputs>> | null;
  itemsOf(d: D): number;
}

function sealJob(env: BenchEnv, w: SealWorkload, warmupRecords: number): Job<SealData> {
  const data = makeSealData(w, env.fill);
  const warm = w.count > 1 ? sliceSeal(data, 0, Math.min(w.count, warmupRecords)) : truncateSeal(data, Math.min(w.recordBytes, WARMUP_ONE_CALL_BYTES));
  return {
    data,
    warm,
    plaintextBytes: data.plaintextBytes,
    reference: (d, i) => env.core.aesGcmEncrypt(d.key, d.ivList[i]!, d.records[i]!),
    prepare: (c) => c.sealer?.(data.key) ?? null,
    itemsOf: (d) => d.records.length,
  };
}

function hkdfJob(env: BenchEnv, w: HkdfWorkload, warmupRecords: number): Job<HkdfData> {
  const data = makeHkdfData(w, env.fill, env.core);
  // WebCrypto and node:crypto derive from IKM + salt, the others from the PRK: both must give the same key.
  const oneShot = env.core.hkdfSha256(data.ikm, data.salt, data.infos[0]!, DERIVED_BYTES);
  if (!equal(oneShot, env.core.hkdfExpand(data.prk, data.infos[0]!, DERIVED_BYTES))) {
    throw new Error('cross-validation failed: vecseal hkdfSha256(ikm, salt, info) differs from hkdfExpand(hkdfExtract(ikm, salt), info)');
  }
  return {
    data,
    warm: sliceHkdf(data, 0, Math.min(w.count, warmupRecords)),
    plaintextBytes: null,
    reference: (d, i) => env.core.hkdfExpand(d.prk, d.infos[i]!, DERIVED_BYTES),
    prepare: (c) => c.deriver?.(data) ?? null,
    itemsOf: (d) => d.infos.length,
  };
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function label(c: Contender): string {
  return c.variant ? `${c.name} (${c.variant})` : c.name;
}

/** Compares outputs at `indices` with vecseal's one-shot reference; throws naming the first difference. */
function crossValidate<D>(reference: (d: D, i: number) => Uint8Array, d: D, out: Outputs, indices: readonly number[], who: string, w: Workload, stage: string): void {
  for (const i of indices) {
    const got = out(i);
    if (!equal(got, reference(d, i))) {
      throw new Error(
        `cross-validation failed (${stage}): ${who} on "${w.title}", item ${i}: its ${got.length}-byte output differs from vecseal's reference; refusing to time it`,
      );
    }
  }
}

function sampleIndices(count: number): number[] {
  return [...new Set([0, 1, count >> 1, count - 1].filter((i) => i >= 0 && i < count))];
}

function rowsFor(w: Workload, results: { contender: Contender; m: Measurement }[], vecsealRps: number): Row[] {
  const byName = new Map<string, { contender: Contender; m: Measurement }[]>();
  for (const r of results) byName.set(r.contender.name, [...(byName.get(r.contender.name) ?? []), r]);
  const rows: Row[] = [];
  for (const [name, group] of byName) {
    const sorted = [...group].sort((a, b) => b.m.recordsPerSecond - a.m.recordsPerSecond);
    const best = sorted[0]!;
    const notes: string[] = [];
    if (best.m.variant) notes.push(`faster variant: ${best.m.variant}`);
    for (const o of sorted.slice(1)) notes.push(`${o.m.variant}: ${Math.round(o.m.recordsPerSecond).toLocaleString('en-US')}/s`);
    if (w.kind === 'hkdf' && best.contender.hkdfNote) notes.push(best.contender.hkdfNote);
    rows.push({
      ...best.m,
      workload: w.id,
      workloadTitle: w.title,
      count: w.count,
      recordBytes: w.kind === 'seal' ? w.recordBytes : null,
      contender: name,
      vecsealRatio: vecsealRps / best.m.recordsPerSecond,
      otherVariants: sorted.slice(1).map((o) => o.m),
      note: notes.length > 0 ? notes.join('; ') : null,
    });
  }
  return rows;
}

/**
 * Runs every workload of the preset with every contender that supports it.
 * @throws Error if any contender's output differs from vecseal's reference (nothing is timed then)
 */
export async function runCoreBench(env: BenchEnv, preset: Preset): Promise<BenchRun> {
  const started = env.now();
  const rows: Row[] = [];
  for (const w of preset.workloads) {
    env.log(w.title);
    const warmup = preset.rounds.warmupRecords;
    rows.push(...(w.kind === 'seal' ? await runJob(env, preset, w, sealJob(env, w, warmup)) : await runJob(env, preset, w, hkdfJob(env, w, warmup))));
  }
  return { preset: preset.name, coreBuild: env.coreBuild, rows, totalSeconds: (env.now() - started) / 1000 };
}

async function runJob<D>(env: BenchEnv, preset: Preset, w: Workload, job: Job<D>): Promise<Row[]> {
  const count = job.itemsOf(job.data);
  const results: { contender: Contender; m: Measurement }[] = [];
  // References are computed once per item and shared by all contenders (the 64 MiB one costs ~0.6 s).
  const cache = new Map<D, Map<number, Uint8Array>>();
  const reference = (d: D, i: number): Uint8Array => {
    const perData = cache.get(d) ?? new Map<number, Uint8Array>();
    cache.set(d, perData);
    let ref = perData.get(i);
    if (ref === undefined) perData.set(i, (ref = job.reference(d, i)));
    return ref;
  };
  for (const contender of env.contenders) {
    const prepared = job.prepare(contender);
    if (prepared === null) continue;
    const run = await prepared;
    const who = label(contender);
    const warmOut = await run(job.warm);
    crossValidate(reference, job.warm, warmOut, Array.from({ length: job.itemsOf(job.warm) }, (_, i) => i), who, w, 'warm-up');
    const timed = await timeRounds(() => run(job.data), preset.rounds, env);
    crossValidate(reference, job.data, timed.last, sampleIndices(count), who, w, 'timed run');
    const med = median(timed.seconds);
    const m: Measurement = {
      variant: contender.variant ?? null,
      roundsSeconds: timed.seconds,
      medianSeconds: med,
      recordsPerSecond: count / med,
      mbPerSecond: job.plaintextBytes === null ? null : job.plaintextBytes / med / 1e6,
    };
    results.push({ contender, m });
    const mb = m.mbPerSecond === null ? '' : `, ${m.mbPerSecond.toFixed(1)} MB/s`;
    env.log(`  ${who}: ${timed.seconds.length} rounds, median ${med.toFixed(3)} s, ${Math.round(m.recordsPerSecond).toLocaleString('en-US')}/s${mb}`);
  }
  const vecseal = results.find((r) => r.contender.name === 'vecseal');
  if (vecseal === undefined) throw new Error('the vecseal contender must be in the list');
  return rowsFor(w, results, vecseal.m.recordsPerSecond);
}
