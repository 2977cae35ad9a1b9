/**
 * Turns benchmark runs into the tables printed to stdout and written to bench/RESULTS.md: one table
 * per runtime (workloads × contenders: records/s, MB/s, the ratio vecseal ÷ each baseline) and one
 * line per target the issue sets for Node. Pure formatting, no I/O.
 */
import type { BenchRun, Row } from './core-bench.js';
import { PARALLEL_SLICE } from './contenders/webcrypto.js';
import type { PresetName } from './workloads.js';

/** Targets from the benchmark issue, for Node 20 on this 2-core machine, single thread. */
export const TARGET_SEAL_3072_MB_PER_SECOND = 100;
export const TARGET_HKDF_DERIVATIONS_PER_SECOND = 250_000;

export type RuntimeId = 'node' | 'chromium' | 'firefox' | 'webkit';

export interface RuntimeInfo {
  readonly id: RuntimeId;
  /** e.g. 'Node v20.20.2' or 'Chromium 156.0.7000.0'. */
  readonly name: string;
  readonly userAgent: string | null;
  readonly detail: string | null;
}

export interface RuntimeReport {
  readonly runtime: RuntimeInfo;
  readonly run: BenchRun | null;
  /** Why the runtime produced no numbers (launch failure, timeout, cross-validation failure). */
  readonly error: string | null;
}

export interface MachineInfo {
  readonly cpu: string;
  readonly logicalCores: number;
  readonly memoryGiB: number;
  readonly os: string;
}

export interface BenchReport {
  readonly date: string;
  readonly preset: PresetName;
  readonly machine: MachineInfo;
  /** The peers' package versions (each runtime's run names the core build it measured). */
  readonly libraries: string[];
  readonly runtimes: RuntimeReport[];
}

function rate(n: number): string {
  if (n >= 100) return Math.round(n).toLocaleString('en-US');
  return n.toFixed(2);
}

function ratio(r: Row): string {
  return r.contender === 'vecseal' ? '—' : `${r.vecsealRatio.toFixed(2)}×`;
}

/** A markdown table of one runtime's rows, in workload order, vecseal first within each. */
export function formatTable(rows: readonly Row[]): string {
  const lines = [
    '| workload | contender | records/s | MB/s | vecseal ÷ it | rounds | median s | note |',
    '|---|---|---:|---:|---:|---:|---:|---|',
  ];
  for (const r of rows) {
    const mb = r.mbPerSecond === null ? '–' : r.mbPerSecond.toFixed(1);
    const name = r.contender === 'vecseal' ? '**vecseal**' : r.contender;
    lines.push(`| ${r.workloadTitle} | ${name} | ${rate(r.recordsPerSecond)} | ${mb} | ${ratio(r)} | ${r.roundsSeconds.length} | ${r.medianSeconds.toFixed(3)} | ${r.note ?? ''} |`);
  }
  return lines.join('\n');
}

function vecsealRow(run: BenchRun | null, workload: Row['workload']): Row | undefined {
  return run?.rows.find((r) => r.workload === workload && r.contender === 'vecseal');
}

/** One line per target for Node, and the same two numbers for each other runtime, for comparison. */
export function targetLines(report: BenchReport): string[] {
  const lines: string[] = [];
  for (const rt of report.runtimes) {
    const seal = vecsealRow(rt.run, 'seal-3072');
    const hkdf = vecsealRow(rt.run, 'hkdf-32');
    if (seal === undefined || hkdf === undefined) {
      lines.push(`- ${rt.runtime.name}: no result${rt.error ? ` (${firstLine(rt.error)})` : ''}`);
      continue;
    }
    const sealMb = seal.mbPerSecond ?? 0;
    if (rt.runtime.id === 'node') {
      const sealOk = sealMb >= TARGET_SEAL_3072_MB_PER_SECOND ? 'met' : 'NOT met';
      const hkdfOk = hkdf.recordsPerSecond >= TARGET_HKDF_DERIVATIONS_PER_SECOND ? 'met' : 'NOT met';
      lines.push(
        `- ${rt.runtime.name}: constant-time AES-256-GCM on 3072-byte records **${sealMb.toFixed(1)} MB/s** median, ${spread(seal, sealMb, (n) => n.toFixed(1))} (target ≥ ${TARGET_SEAL_3072_MB_PER_SECOND} MB/s: ${sealOk})`,
      );
      lines.push(
        `- ${rt.runtime.name}: HKDF-Expand batch **${rate(hkdf.recordsPerSecond)} derivations/s** median, ${spread(hkdf, hkdf.recordsPerSecond, rate)} (target ≥ ${TARGET_HKDF_DERIVATIONS_PER_SECOND.toLocaleString('en-US')}/s: ${hkdfOk})`,
      );
    } else {
      lines.push(`- ${rt.runtime.name}: AES-256-GCM 3072 B ${sealMb.toFixed(1)} MB/s; HKDF-Expand batch ${rate(hkdf.recordsPerSecond)} derivations/s (targets are set for Node only)`);
    }
  }
  return lines;
}

/** The slowest and fastest round's rate, from the median rate and the round times. */
function spread(row: Row, median: number, format: (n: number) => string): string {
  const slowest = Math.max(...row.roundsSeconds);
  const fastest = Math.min(...row.roundsSeconds);
  const at = (s: number): number => (median * row.medianSeconds) / s;
  return `rounds ${format(at(slowest))}–${format(at(fastest))}`;
}

/** The core's .wasm digest; a run whose runtimes loaded different builds (a rebuild mid-run) says so. */
function coreBuildLine(report: BenchReport): string {
  const builds = [...new Set(report.runtimes.flatMap((rt) => (rt.run ? [rt.run.coreBuild] : [])))];
  if (builds.length === 1) return `- vecseal core: embedded .wasm sha256 \`${builds[0]!.slice(0, 16)}…\` in every runtime`;
  const each = report.runtimes.map((rt) => `${rt.runtime.name} ${rt.run ? rt.run.coreBuild.slice(0, 16) : '–'}`).join(', ');
  return `- vecseal core: **different builds across runtimes, numbers not comparable** (${each}); rerun`;
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.slice(0, 300);
}

/** Stdout form: a heading and a table per runtime. */
export function formatRuntime(rt: RuntimeReport): string {
  const head = `## ${rt.runtime.name}`;
  if (rt.run === null) return `${head}\n\nfailed: ${rt.error ?? 'no result'}`;
  return `${head}\n\n${formatTable(rt.run.rows)}\n\n(${rt.run.totalSeconds.toFixed(0)} s for this runtime)`;
}

/** The whole of bench/RESULTS.md. */
export function formatResultsMarkdown(report: BenchReport): string {
  const m = report.machine;
  const out: string[] = [
    '# Core benchmark (single thread)',
    '',
    `Written by \`npm run bench:core\` (bench/run.ts, preset \`${report.preset}\`) on **${report.date}**. Rerun to refresh; raw numbers are in bench/results.json.`,
    '',
    '## Machine',
    '',
    `- CPU: ${m.cpu}, ${m.logicalCores} logical cores`,
    `- Memory: ${m.memoryGiB.toFixed(1)} GiB`,
    `- OS: ${m.os}`,
    '',
    '## Runtimes',
    '',
    ...report.runtimes.map((rt) => `- ${rt.runtime.name}${rt.runtime.detail ? ` (${rt.runtime.detail})` : ''}${rt.runtime.userAgent ? `: \`${rt.runtime.userAgent}\`` : ''}`),
    '',
    '## Libraries',
    '',
    coreBuildLine(report),
    ...report.libraries.map((l) => `- ${l}`),
    '',
    '## Targets (issue: Node 20, single thread, this 2-core machine)',
    '',
    ...targetLines(report),
    '',
    '## Method',
    '',
    '- Single thread, one runtime at a time, on the main thread of a page served from 127.0.0.1 with COOP/COEP (browsers) or in-process (Node).',
    '- vecseal: one `sealBatch({ key, ivs, plaintexts })` over the whole workload (one key, random 12-byte IVs packed), one `aesGcmEncrypt` for the one-call case, one `hkdfExpandBatch` for the derivations.',
    `- WebCrypto: one imported key, one \`encrypt\` (or HKDF \`deriveBits\`) per record, both with sequential \`await\` and with \`Promise.all\` in slices of ${PARALLEL_SLICE}; the faster is the baseline and the other is in the note.`,
    '- node:crypto (Node only): `createCipheriv(\'aes-256-gcm\')` per record; `hkdfSync` per derivation. @noble/ciphers `gcm` per record; @noble/hashes HKDF `expand` per derivation.',
    '- HKDF: WebCrypto and node:crypto have no expand-only call, so each of their derivations does extract + expand from the IKM and salt; vecseal and @noble/hashes expand from the PRK. All give identical 32-byte keys (checked).',
    '- Inputs (random key, random IVs, random plaintext records cut from one buffer, infos `vecseal/record/000000042`) are made before timing and are the same for every contender.',
    '- Before timing, every contender\'s output on a warm-up slice is compared byte for byte with vecseal\'s one-shot `aesGcmEncrypt` / `hkdfExpand`; after timing, sample records of the last round are compared again. A difference aborts the run.',
    '- This is a 2-vCPU VM: run-to-run noise of ±15% or more is normal here (the Targets lines give this run\'s slowest–fastest round). Compare ratios measured in the same run rather than absolute numbers across runs.',
    '- WebCrypto may do its work on the engine\'s own threads (Node\'s libuv pool, the browsers\' crypto threads), so on this 2-core machine its numbers can include the second core; vecseal, node:crypto and the noble libraries run on the calling thread only.',
    '- Each contender is warmed up, then timed over whole-workload rounds: 3–5 rounds, more (up to 40, at least 1.5 s of timed work) when rounds are short, as few as 1–2 when a round takes seconds; the table shows the median and the round count. MB/s is plaintext 10^6 bytes per second. "vecseal ÷ it" is vecseal\'s records/s divided by the contender\'s, in the same runtime and run.',
    '',
  ];
  for (const rt of report.runtimes) out.push(formatRuntime(rt), '');
  return out.join('\n');
}
