/**
 * The end-to-end benchmark, runtime-agnostic: the same code runs in Node (node.ts) and in each
 * browser page (bench/browser/e2e-main.ts). Per runtime it makes one provider and key store, shared by
 * every client (so any client opens any other's records), and then, for each workload:
 *
 * 1. every contender seals a warm-up slice twice; its output is decrypted and compared with the
 *    inputs (vecseal's also by an independent FORMAT.md decoder) and a mismatch aborts the run;
 * 2. timed rounds, interleaved: each round runs every contender once on the whole workload (a slow
 *    baseline on a prefix of it), in an order rotated from round to round, so the VM's drifts hit
 *    everyone alike; each round's output
 *    is cross-checked again on sample records (outside the timed part). Each vecseal configuration
 *    has its own client, started fresh for the workload and closed after it;
 * 3. the median of the rounds' records/s is reported, with MB/s of plaintext.
 *
 * Then the stream (stream.ts), through the runtime's own `stream` hook.
 */
import { createClient, dekIdFor, MemoryKeyStore, WebCryptoKeyProvider, type BackendName, type VecsealClient } from '../../src/index.js';
import { median } from '../timing.js';
import {
  derivedKeyContenders,
  plainWebCryptoContenders,
  vecsealContender,
  vecsealDecryptContender,
  type ClientConfig,
  type ClientFactory,
  type E2eContender,
  type Family,
  type VecsealCheck,
} from './contenders.js';
import type { StreamResult } from './stream.js';
import { COLLECTION, makeDataset256, makeDataset768, prefix, TENANT, type Dataset, type DatasetId, type E2ePreset, type E2ePresetName } from './workloads.js';

export interface E2eEnv {
  readonly subtle: SubtleCrypto;
  /** Backends this runtime can name explicitly ('node' only in Node). */
  readonly backends: readonly BackendName[];
  /** Worker counts of the explicit-backend clients, besides the default count (which is always timed). */
  readonly matrixWorkers: readonly number[];
  /** Runtime-only contenders (node:crypto in Node). */
  extraContenders(): E2eContender[];
  now(): number;
  yieldToHost(): Promise<void>;
  log(line: string): void;
  /** Runs the stream with a fresh default client from `newClient` (Node runs it in a fresh process instead). */
  stream(preset: E2ePreset, newClient: () => Promise<VecsealClient>): Promise<StreamResult>;
}

export interface E2eMeasurement {
  readonly key: string;
  readonly family: Family;
  readonly label: string;
  readonly variant: string | null;
  readonly workers: number | null;
  readonly backend: string | null;
  /** Records in each timed round (the workload, or its prefix for a slow baseline). */
  readonly roundsRecords: number[];
  /** True when any round timed a prefix rather than the whole workload. */
  readonly capped: boolean;
  readonly warmupRecordsPerSecond: number;
  readonly roundsSeconds: number[];
  /** The median of the rounds' records/s. */
  readonly recordsPerSecond: number;
  /** Plaintext MB (10^6 bytes) per second. */
  readonly mbPerSecond: number;
}

export interface E2eDatasetResult {
  readonly id: DatasetId;
  readonly title: string;
  readonly count: number;
  readonly recordBytes: number;
  readonly measurements: E2eMeasurement[];
}

export interface E2eRun {
  readonly preset: E2ePresetName;
  /** The default client's worker count (hardwareConcurrency - 1 here) and the runtime's hardwareConcurrency. */
  readonly defaultWorkers: number;
  readonly hardwareConcurrency: number | null;
  readonly datasets: E2eDatasetResult[];
  readonly stream: StreamResult | null;
  readonly streamError: string | null;
  readonly totalSeconds: number;
}

function sampleIndices(count: number): number[] {
  const out = new Set<number>([0, 1, count >> 1, count - 1]);
  for (let k = 1; k < 8; k++) out.add(Math.floor((count * k) / 8) + k);
  return [...out].filter((i) => i >= 0 && i < count).sort((a, b) => a - b);
}

function rate(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** The vecseal configurations besides the default: auto with 0, 1, 2 workers, each backend with 0 and the default count. */
function configsFor(env: E2eEnv, defaultWorkers: number): { config: ClientConfig; workers: number }[] {
  const out: { config: ClientConfig; workers: number }[] = [];
  for (const workers of [0, 1, 2]) if (workers !== defaultWorkers) out.push({ config: { workers, backend: 'auto' }, workers });
  for (const backend of env.backends) {
    for (const workers of new Set([...env.matrixWorkers, defaultWorkers])) out.push({ config: { workers, backend }, workers });
  }
  return out;
}

/** A VecsealCheck whose DEK is unwrapped (once, after the first seal) through the provider. */
function checker(env: E2eEnv, opener: VecsealClient, provider: WebCryptoKeyProvider, store: MemoryKeyStore): VecsealCheck {
  let dek: { dekId: string; bytes: Uint8Array<ArrayBuffer> } | undefined;
  return {
    opener,
    subtle: env.subtle,
    async dek() {
      if (dek) return dek;
      const dekId = dekIdFor(COLLECTION, TENANT);
      const versions = await store.listDekVersions(dekId);
      if (versions.length !== 1) throw new Error(`expected one DEK version of ${dekId}, found ${versions.length}`);
      const v = versions[0]!;
      const bytes = await provider.unwrap(v.wrapped, { dekId, keyVersion: v.version, collection: COLLECTION, tenant: TENANT });
      dek = { dekId, bytes: new Uint8Array(bytes) };
      return dek;
    },
  };
}

interface Plan {
  c: E2eContender;
  data: Dataset;
  warmRate: number;
  seconds: number[];
  records: number[];
}

/** One timed run of `c` on `d`, cross-checked afterwards; seconds. */
async function timeOnce(env: E2eEnv, c: E2eContender, d: Dataset): Promise<number> {
  await env.yieldToHost();
  const t = env.now();
  const check = await c.run(d);
  const seconds = (env.now() - t) / 1000;
  await check(sampleIndices(d.count));
  return seconds;
}

async function runDataset(env: E2eEnv, preset: E2ePreset, d: Dataset, contenders: readonly E2eContender[]): Promise<E2eDatasetResult> {
  const active = contenders.filter((c) => c.datasets.includes(d.id));
  env.log(`${d.title}: preparing`);
  for (const c of active) await c.prepare?.(d);
  for (const c of active) await c.open?.();
  try {
    return await timeDataset(env, preset, d, active);
  } finally {
    for (const c of active) await c.close?.();
    for (const c of active) c.release?.();
  }
}

async function timeDataset(env: E2eEnv, preset: E2ePreset, d: Dataset, active: readonly E2eContender[]): Promise<E2eDatasetResult> {
  const warm = prefix(d, Math.min(d.count, preset.warmupRecords));
  const plans: Plan[] = [];
  for (const c of active) {
    await timeOnce(env, c, warm); // cold: JIT, the workers' first batch, the first key install
    const warmRate = warm.count / (await timeOnce(env, c, warm));
    let n = d.count;
    if (!c.neverCapped && d.count / warmRate > preset.roundCapSeconds) {
      n = Math.max(warm.count, Math.min(d.count, Math.round((warmRate * preset.roundCapSeconds) / 1000) * 1000));
    }
    plans.push({ c, data: prefix(d, n), warmRate, seconds: [], records: [] });
    env.log(`  warm-up ${c.key}: ${rate(warmRate)}/s, checked${n < d.count ? `; timed on the first ${n.toLocaleString('en-US')} records` : ''}`);
  }
  const step = Math.max(1, Math.ceil(plans.length / preset.rounds));
  for (let r = 0; r < preset.rounds; r++) {
    const order = [...plans.slice((r * step) % plans.length), ...plans.slice(0, (r * step) % plans.length)];
    for (const p of order) {
      const s = await timeOnce(env, p.c, p.data);
      p.seconds.push(s);
      p.records.push(p.data.count);
      env.log(`  round ${r + 1} ${p.c.key}: ${s.toFixed(3)} s, ${rate(p.data.count / s)}/s`);
      // The warm-up under-predicted a slow loop (e.g. sequential awaits in Node): shorten its later rounds.
      if (!p.c.neverCapped && s > 2 * preset.roundCapSeconds) {
        const n = Math.max(warm.count, Math.min(p.data.count, Math.round(((p.data.count / s) * preset.roundCapSeconds) / 1000) * 1000));
        if (n < p.data.count) {
          p.data = prefix(d, n);
          env.log(`    ${p.c.key}: later rounds on the first ${n.toLocaleString('en-US')} records`);
        }
      }
    }
  }
  return {
    id: d.id,
    title: d.title,
    count: d.count,
    recordBytes: d.recordBytes,
    measurements: plans.map((p) => {
      const rps = median(p.seconds.map((sec, i) => p.records[i]! / sec));
      return {
        key: p.c.key,
        family: p.c.family,
        label: p.c.label,
        variant: p.c.variant,
        workers: p.c.workers ?? null,
        backend: p.c.backend ?? null,
        roundsRecords: p.records,
        capped: p.records.some((n) => n < d.count),
        warmupRecordsPerSecond: p.warmRate,
        roundsSeconds: p.seconds,
        recordsPerSecond: rps,
        mbPerSecond: (rps * d.recordBytes) / 1e6,
      };
    }),
  };
}

/**
 * Runs both workloads and the stream in this runtime. One provider and key store; every vecseal
 * configuration gets a fresh client per workload (see contenders.ts), and records are opened for
 * checking by one long-lived client on the calling thread.
 * @throws Error when any cross-check fails (the stream's other failures are reported in `streamError`)
 */
export async function runE2eBench(env: E2eEnv, preset: E2ePreset): Promise<E2eRun> {
  const started = env.now();
  const provider = await WebCryptoKeyProvider.generate();
  const store = new MemoryKeyStore();
  const newClient: ClientFactory = (config) => createClient({ provider, store, ...(config.workers === undefined ? {} : { workers: config.workers }), backend: config.backend });
  const probe = await newClient({ workers: undefined, backend: 'auto' });
  const defaultWorkers = probe.info.workers;
  await probe.close();
  const opener = await createClient({ provider, store, workers: 0 });
  const datasets: E2eDatasetResult[] = [];
  try {
    const check = checker(env, opener, provider, store);
    const configs = configsFor(env, defaultWorkers);
    env.log(`vecseal: default ${defaultWorkers} worker(s), backend auto; also ${configs.map((c) => `${c.config.backend}/${c.workers}`).join(', ')}`);
    const contenders: E2eContender[] = [
      vecsealContender({ key: 'vecseal', family: 'vecseal', label: 'vecseal encryptVectors (defaults)', config: { workers: undefined, backend: 'auto' }, workers: defaultWorkers, newClient, check }),
      vecsealDecryptContender(defaultWorkers, newClient),
      ...(await plainWebCryptoContenders(env.subtle)),
      ...(await derivedKeyContenders(env.subtle)),
      ...env.extraContenders(),
      ...configs.map(({ config, workers }) =>
        vecsealContender({ key: `vecseal/${config.backend}/w${workers}`, family: 'vecseal-config', label: 'vecseal encryptVectors', config, workers, newClient, check }),
      ),
    ];
    datasets.push(await runDataset(env, preset, makeDataset768(preset.records768), contenders));
    datasets.push(await runDataset(env, preset, makeDataset256(preset.records256), contenders));
  } finally {
    await opener.close();
  }
  let stream: StreamResult | null = null;
  let streamError: string | null = null;
  try {
    stream = await env.stream(preset, () => newClient({ workers: undefined, backend: 'auto' }));
  } catch (err) {
    streamError = err instanceof Error ? (err.stack ?? err.message) : String(err);
    env.log(`stream failed: ${streamError}`);
    if (streamError.includes('cross-check failed')) throw err;
  }
  const hc = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? null;
  return { preset: preset.name, defaultWorkers, hardwareConcurrency: hc, datasets, stream, streamError, totalSeconds: (env.now() - started) / 1000 };
}
