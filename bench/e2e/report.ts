/**
 * Turns end-to-end runs into the tables printed to stdout and written to the top section of
 * bench/RESULTS.md: a summary, the targets with pass/fail per runtime, the backend × worker tables
 * for tuning `auto`, the stream, and one detailed table per runtime and workload. Pure formatting.
 */
import type { MachineInfo, RuntimeId, RuntimeInfo } from '../report.js';
import { PARALLEL_SLICE } from '../contenders/webcrypto.js';
import type { E2eDatasetResult, E2eMeasurement, E2eRun } from './bench.js';
import type { Family } from './contenders.js';
import type { DatasetId, E2ePresetName } from './workloads.js';

export interface E2eRuntimeReport {
  readonly runtime: RuntimeInfo;
  readonly run: E2eRun | null;
  readonly error: string | null;
}

export interface E2eReport {
  readonly date: string;
  readonly preset: E2ePresetName;
  readonly machine: MachineInfo;
  /** sha256 of the embedded core .wasm. */
  readonly coreBuild: string;
  /** sha256 over every file under src/ when the run started (unchanged until it ended, or nothing is written). */
  readonly srcDigest: string;
  /** Measured from a copy of src/ and bench/ taken at the start (`--snapshot`). */
  readonly fromSnapshot: boolean;
  readonly runtimes: E2eRuntimeReport[];
  /** Wall-clock seconds of the whole `npm run bench:e2e`. */
  readonly totalSeconds: number;
}

interface Target {
  readonly dataset: DatasetId;
  readonly family: Family;
  readonly title: string;
  readonly browsers: number;
  readonly node: number;
}

/** The issue's targets: vecseal (defaults) records/s ÷ the baseline's, same run. */
export const TARGETS: readonly Target[] = [
  { dataset: '768d', family: 'derived', title: '768-d ÷ WebCrypto with an HKDF key per record', browsers: 1.5, node: 5 },
  { dataset: '256b', family: 'webcrypto', title: '256-B ÷ the faster plain WebCrypto loop', browsers: 2, node: 3 },
  { dataset: '768d', family: 'webcrypto', title: '768-d ÷ the faster plain WebCrypto loop', browsers: 1, node: 2 },
];

/** Node's stream target: peak RSS growth below this. */
export const STREAM_RSS_TARGET_BYTES = 256 * 2 ** 20;

const MIB = 2 ** 20;

function rate(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function kilo(n: number): string {
  return n >= 10_000 ? `${(n / 1000).toFixed(0)}k` : `${(n / 1000).toFixed(1)}k`;
}

function dataset(run: E2eRun | null, id: DatasetId): E2eDatasetResult | undefined {
  return run?.datasets.find((d) => d.id === id);
}

function byKey(d: E2eDatasetResult | undefined, key: string): E2eMeasurement | undefined {
  return d?.measurements.find((m) => m.key === key);
}

/** The faster variant of a family (sequential or Promise.all). */
export function bestOf(d: E2eDatasetResult | undefined, family: Family): E2eMeasurement | undefined {
  const list = d?.measurements.filter((m) => m.family === family) ?? [];
  return list.sort((a, b) => b.recordsPerSecond - a.recordsPerSecond)[0];
}

/** The fastest vecseal encryptVectors configuration measured (default included). */
export function fastestVecseal(d: E2eDatasetResult | undefined): E2eMeasurement | undefined {
  const list = d?.measurements.filter((m) => m.family === 'vecseal' || m.family === 'vecseal-config') ?? [];
  return list.sort((a, b) => b.recordsPerSecond - a.recordsPerSecond)[0];
}

function configName(m: E2eMeasurement): string {
  return `${m.backend ?? '?'}, ${m.workers ?? '?'} worker${m.workers === 1 ? '' : 's'}`;
}

function ratioOf(d: E2eDatasetResult | undefined, family: Family): number | undefined {
  const v = byKey(d, 'vecseal');
  const b = bestOf(d, family);
  return v && b ? v.recordsPerSecond / b.recordsPerSecond : undefined;
}

function x(r: number | undefined): string {
  return r === undefined ? '–' : `${r.toFixed(2)}×`;
}

function isBrowser(id: RuntimeId): boolean {
  return id !== 'node';
}

function shortName(rt: E2eRuntimeReport): string {
  return rt.runtime.name.replace(/^Node v/, 'Node ');
}

/** One line per runtime: the headline numbers and ratios. */
export function formatSummary(report: E2eReport): string {
  const lines = [
    '| runtime | workers (default) | 768-d encryptVectors | ÷ HKDF-per-record WebCrypto | ÷ plain WebCrypto | 768-d decryptVectors | 256-B encryptVectors | ÷ plain WebCrypto | stream 768-d | stream memory growth |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const rt of report.runtimes) {
    const run = rt.run;
    if (!run) {
      lines.push(`| ${shortName(rt)} | failed: ${firstLine(rt.error ?? 'no result')} |||||||||`);
      continue;
    }
    const d768 = dataset(run, '768d');
    const d256 = dataset(run, '256b');
    const v768 = byKey(d768, 'vecseal');
    const dec = byKey(d768, 'vecseal/decrypt');
    const v256 = byKey(d256, 'vecseal');
    const s = run.stream;
    const stream = s ? `${rate(s.recordsPerSecond)} rec/s (${s.mbPerSecond.toFixed(0)} MB/s)` : 'failed';
    const mem = s?.memory ? `+${(s.memory.growthBytes / MIB).toFixed(0)} MiB ${s.memory.kind}` : 'n/a';
    lines.push(
      `| ${shortName(rt)} | ${run.defaultWorkers} | ${v768 ? `${rate(v768.recordsPerSecond)} rec/s (${v768.mbPerSecond.toFixed(0)} MB/s)` : '–'} | ${x(ratioOf(d768, 'derived'))} | ${x(ratioOf(d768, 'webcrypto'))} | ${dec ? `${rate(dec.recordsPerSecond)} rec/s` : '–'} | ${v256 ? `${rate(v256.recordsPerSecond)} rec/s (${v256.mbPerSecond.toFixed(0)} MB/s)` : '–'} | ${x(ratioOf(d256, 'webcrypto'))} | ${stream} | ${mem} |`,
    );
  }
  return lines.join('\n');
}

/** The targets, pass or fail per runtime. */
export function formatTargets(report: E2eReport): string {
  const lines = [
    '| runtime | target | vecseal (defaults) ÷ baseline | needed | result | fastest configuration measured ÷ baseline |',
    '|---|---|---:|---:|---|---|',
  ];
  for (const rt of report.runtimes) {
    for (const t of TARGETS) {
      const need = isBrowser(rt.runtime.id) ? t.browsers : t.node;
      const d = dataset(rt.run, t.dataset);
      const r = ratioOf(d, t.family);
      const verdict = r === undefined ? 'no result' : r >= need ? 'met' : '**NOT met**';
      const fastest = fastestVecseal(d);
      const base = bestOf(d, t.family);
      const alt = fastest && base ? `${x(fastest.recordsPerSecond / base.recordsPerSecond)} (${configName(fastest)})` : '–';
      lines.push(`| ${shortName(rt)} | ${t.title} | ${x(r)} | ≥ ${need}× | ${verdict} | ${alt} |`);
    }
    if (rt.runtime.id === 'node') {
      const mem = rt.run?.stream?.memory;
      const verdict = mem === undefined || mem === null ? 'no result' : mem.growthBytes < STREAM_RSS_TARGET_BYTES ? 'met' : '**NOT met**';
      lines.push(`| ${shortName(rt)} | stream: peak RSS growth | ${mem ? `${(mem.growthBytes / MIB).toFixed(0)} MiB` : '–'} | < ${STREAM_RSS_TARGET_BYTES / MIB} MiB | ${verdict} | |`);
    }
  }
  return lines.join('\n');
}

/** Backend × workers, records/s, per workload: what `auto` should pick. */
export function formatBackendMatrix(report: E2eReport, id: DatasetId): string {
  const counts = [
    ...new Set(report.runtimes.flatMap((rt) => dataset(rt.run, id)?.measurements.flatMap((m) => (m.workers === null ? [] : [m.workers])) ?? [])),
  ].sort((a, b) => a - b);
  const lines = [
    `| runtime | backend | ${counts.map((n) => `${n} worker${n === 1 ? '' : 's'}`).join(' | ')} |`,
    `|---|---|${counts.map(() => '---:').join('|')}|`,
  ];
  for (const rt of report.runtimes) {
    const d = dataset(rt.run, id);
    if (!d || !rt.run) continue;
    const def = rt.run.defaultWorkers;
    const cell = (backend: string, workers: number): string => {
      const m = backend === 'auto' && workers === def ? byKey(d, 'vecseal') : d.measurements.find((mm) => mm.family === 'vecseal-config' && mm.backend === backend && mm.workers === workers);
      if (!m) return '–';
      const mark = backend === 'auto' && workers === def ? ' (default)' : '';
      return `${kilo(m.recordsPerSecond)} (${m.mbPerSecond.toFixed(0)} MB/s)${m.capped ? '†' : ''}${mark}`;
    };
    const backends = ['auto', ...new Set(d.measurements.filter((m) => m.family === 'vecseal-config' && m.backend !== 'auto').map((m) => m.backend!))];
    for (const b of backends) lines.push(`| ${shortName(rt)} | ${b} | ${counts.map((n) => cell(b, n)).join(' | ')} |`);
  }
  return lines.join('\n');
}

/** One line per runtime and workload: the fastest configuration measured against the default. */
export function formatFastest(report: E2eReport): string {
  const lines = ['Fastest configuration measured, against the default client:', ''];
  for (const rt of report.runtimes) {
    for (const id of ['768d', '256b'] as const) {
      const d = dataset(rt.run, id);
      const def = byKey(d, 'vecseal');
      const fastest = fastestVecseal(d);
      if (!d || !def || !fastest) continue;
      const same = fastest.key === def.key;
      lines.push(
        `- ${shortName(rt)}, ${id === '768d' ? '768-d' : '256-B'}: ${configName(fastest)}, ${rate(fastest.recordsPerSecond)} records/s${same ? ' (the default)' : `, ${(fastest.recordsPerSecond / def.recordsPerSecond).toFixed(2)}× the default (${configName(def)})`}`,
      );
    }
  }
  return lines.join('\n');
}

export function formatStream(report: E2eReport): string {
  const lines = [
    '| runtime | records | workers | seconds | records/s | MB/s | generator alone, records/s | memory at start | peak | growth | samples |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const rt of report.runtimes) {
    const s = rt.run?.stream;
    if (!s) {
      lines.push(`| ${shortName(rt)} | failed: ${firstLine(rt.run?.streamError ?? rt.error ?? 'no result')} ||||||||||`);
      continue;
    }
    const m = s.memory;
    const mem = m
      ? `${(m.baselineBytes / MIB).toFixed(0)} MiB (${m.kind}) | ${(m.peakBytes / MIB).toFixed(0)} MiB | **+${(m.growthBytes / MIB).toFixed(0)} MiB** | ${m.samples}`
      : `n/a${s.memoryNote ? ` (${s.memoryNote})` : ''} | – | – | –`;
    lines.push(`| ${shortName(rt)} | ${s.records.toLocaleString('en-US')} | ${s.workers} | ${s.seconds.toFixed(1)} | ${rate(s.recordsPerSecond)} | ${s.mbPerSecond.toFixed(0)} | ${rate(s.sourceRecordsPerSecond)} | ${mem} |`);
  }
  return lines.join('\n');
}

const ORDER: Record<Family, number> = { vecseal: 0, 'vecseal-decrypt': 1, webcrypto: 2, derived: 3, 'node-crypto': 4, 'vecseal-config': 5 };

/** Every contender on one workload in one runtime. */
export function formatDataset(d: E2eDatasetResult): string {
  const v = byKey(d, 'vecseal');
  const lines = [
    '| contender | variant | records/s | MB/s | vecseal ÷ it | records per round | rounds (s) |',
    '|---|---|---:|---:|---:|---:|---|',
  ];
  const sorted = [...d.measurements].sort((a, b) => ORDER[a.family] - ORDER[b.family] || b.recordsPerSecond - a.recordsPerSecond);
  for (const m of sorted) {
    const name = m.key === 'vecseal' ? `**${m.label}**` : m.label;
    const ratio = m.key === 'vecseal' || !v ? '—' : `${(v.recordsPerSecond / m.recordsPerSecond).toFixed(2)}×`;
    const records = `${[...new Set(m.roundsRecords)].map((n) => n.toLocaleString('en-US')).join(' / ')}${m.capped ? '†' : ''}`;
    lines.push(`| ${name} | ${m.variant ?? ''} | ${rate(m.recordsPerSecond)} | ${m.mbPerSecond.toFixed(1)} | ${ratio} | ${records} | ${m.roundsSeconds.map((s) => s.toFixed(2)).join(', ')} |`);
  }
  return lines.join('\n');
}

export function formatRuntimeE2e(rt: E2eRuntimeReport, level = '###'): string {
  const head = `${level} ${rt.runtime.name}`;
  if (!rt.run) return `${head}\n\nfailed: ${rt.error ?? 'no result'}`;
  const hc = rt.run.hardwareConcurrency === null ? 'no navigator.hardwareConcurrency' : `navigator.hardwareConcurrency ${rt.run.hardwareConcurrency}`;
  const parts = [head, '', `Default client: ${rt.run.defaultWorkers} worker(s) (${hc}), backend auto. ${rt.run.totalSeconds.toFixed(0)} s for this runtime.`];
  for (const d of rt.run.datasets) parts.push('', `**${d.title}**`, '', formatDataset(d));
  if (rt.run.streamError) parts.push('', `Stream failed: ${firstLine(rt.run.streamError)}`);
  return parts.join('\n');
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.slice(0, 200);
}

/** The e2e section of RESULTS.md. */
export function formatE2eMarkdown(report: E2eReport): string {
  const m = report.machine;
  const out: string[] = [
    '## End-to-end through the public API',
    '',
    `Written by \`npm run bench:e2e\` (bench/e2e/, preset \`${report.preset}\`) on **${report.date}**; the whole run took ${(report.totalSeconds / 60).toFixed(1)} minutes. Raw numbers, every round: bench/results-e2e.json.`,
    '',
    `Machine: ${m.cpu}, ${m.logicalCores} logical cores, ${m.memoryGiB.toFixed(1)} GiB, ${m.os}. vecseal core: embedded .wasm sha256 \`${report.coreBuild.slice(0, 16)}…\`; src/ digest \`${report.srcDigest.slice(0, 16)}…\` (bench/e2e/source-stamp.ts; unchanged during the run${report.fromSnapshot ? ', which measured a copy of src/ and bench/ taken at its start: `--snapshot`' : ''}).`,
    '',
    'Runtimes:',
    '',
    ...report.runtimes.map((rt) => `- ${rt.runtime.name}${rt.runtime.detail ? ` (${rt.runtime.detail})` : ''}${rt.runtime.userAgent ? `: \`${rt.runtime.userAgent}\`` : ''}`),
    '',
    '### Summary',
    '',
    'Medians; "÷" is vecseal\'s records/s (default options) divided by the baseline\'s, same runtime and run (the faster of its sequential and Promise.all variants).',
    '',
    formatSummary(report),
    '',
    '### Targets',
    '',
    formatTargets(report),
    '',
    '### Backends and workers (records/s, for tuning `auto`)',
    '',
    '`encryptVectors` with an explicit backend and worker count (0 = on the calling thread), whole workload, medians; `auto` picks per batch by average record size (see src/backends/index.ts).',
    '',
    '**768-d float32 (3072 B per record)**',
    '',
    formatBackendMatrix(report, '768d'),
    '',
    '**256 B per record**',
    '',
    formatBackendMatrix(report, '256b'),
    '',
    formatFastest(report),
    '',
    '### Stream: `encryptStream` of lazily generated 768-d records',
    '',
    formatStream(report),
    '',
    '### Method',
    '',
    '- One runtime at a time on this machine: Node in-process (the stream in a fresh child process), then each browser on a page served from 127.0.0.1 with COOP/COEP (cross-origin isolated), through the same drivers as the core benchmark. One provider (a WebCrypto KEK) and one in-memory key store per runtime, shared by every client.',
    '- Each vecseal configuration gets a freshly started client per workload (workers started and backend loaded by `createClient`, untimed), closed after that workload\'s rounds; the stream gets its own.',
    '- vecseal: `client.encryptVectors({ collection, tenant, ids, vectors })` of the whole workload in one call, vectors as `Float32Array` rows (768-d) or `Uint8Array` records with dtype `uint8` (256-B), timed from the call to the resolved array of `{ id, ciphertext }`. Default options: `createClient({ provider, store })` (workers = hardwareConcurrency − 1, backend `auto`). `decryptVectors` (default options) opens records sealed, untimed, by another default client. The backend tables add \`auto\` with 0, 1 and 2 workers and each backend by name with 0 workers and the default count.',
    `- Plain WebCrypto: one imported AES-256-GCM key; per record a random 12-byte nonce and \`crypto.subtle.encrypt\`, keeping nonce and ciphertext; sequential \`await\`, and \`Promise.all\` in slices of ${PARALLEL_SLICE}. Nonces (and salts) are drawn with one \`getRandomValues\` per 4096 records.`,
    '- HKDF key per record (vecseal\'s security with WebCrypto): per record `deriveKey` HKDF-SHA256 from one master key (random 16-byte salt, info = `collection/tenant/id`) to an AES-256-GCM key, then `encrypt` with a random nonce and the same context as AAD; sequential and Promise.all.',
    '- node:crypto (Node only): `createCipheriv(\'aes-256-gcm\')`, `update`, `final`, `getAuthTag` per record, random nonce.',
    `- Cross-checks, before and during timing: each contender seals a warm-up slice (twice; the second run's rate is "warm-up"), and after every run, sample records of that run (first, last, middle and 8 spread) are decrypted and compared with the inputs: vecseal's with \`decryptVectors\` of a separate client (0 workers, backend auto) and two of them with an independent decoder written from FORMAT.md on WebCrypto (bench/e2e/independent-open.ts), baselines' with their own key. Any mismatch aborts the run.`,
    `- Timing: after the warm-up, rounds are interleaved: each round runs every contender once, in an order rotated from round to round, so drifts of this noisy VM hit all contenders alike (repeated runs vary ±15%). The median of the rounds' records/s is reported. vecseal is always timed on the whole workload; a baseline whose warm-up rate predicts a round longer than the preset's cap (2.5 s for full) is timed on a prefix of the workload sized to about that long (marked †; a per-record loop has a constant per-record cost), and one whose round still takes over twice the cap has its later rounds shortened the same way. MB/s counts plaintext (10^6 bytes).`,
    '- Stream: `client.encryptStream(source, { collection, tenant, dimension: 768 })` with the default batch of 4096, where `source` is an async generator making each record on demand (a fresh `Float32Array` copied from a 1024-row pool, element 0 set to the record number); sealed records are counted and dropped, 11 samples are kept and opened afterwards against regenerated inputs. A warm-up stream runs first; memory at start is read after it. Node: process RSS (all threads, WebAssembly memories and ArrayBuffers included) sampled every 50 ms by a worker thread; growth = peak − start. Chromium: `performance.memory.usedJSHeapSize` of the page (launched with `--enable-precise-memory-info`), which excludes the workers and ArrayBuffer backing stores; Firefox and WebKit expose no such counter (n/a).',
    '- WebCrypto may run on the engine\'s own threads, and vecseal\'s workers are threads: on this 2-core machine every contender can use both cores.',
    '',
    ...report.runtimes.flatMap((rt) => [formatRuntimeE2e(rt), '']),
  ];
  return out.join('\n');
}
