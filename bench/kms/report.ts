/**
 * Turns a key-provider run into the table printed to stdout and the "Key providers" section of
 * bench/RESULTS.md (written by results-file.ts writeKmsResults). Pure formatting.
 */
import type { MachineInfo } from '../report.js';
import type { Measured, Preset, Throughput } from './measure.js';
import { BUSY_SHARE } from './cpu.js';
import type { Setup } from './setups.js';

export interface KmsResult {
  key: string;
  label: string;
  kind: Setup['kind'];
  counterpart: string;
  measured: Measured | null;
  error: string | null;
  /** Share of the machine's CPU (all cores) other processes used while this configuration was measured (cpu.ts); null off Linux. */
  otherCpu: number | null;
  /** Measurements taken (the last is reported): more than one when other work disturbed the earlier ones. */
  attempts: number;
}

export interface KmsReport {
  date: string;
  preset: Preset;
  machine: MachineInfo;
  node: string;
  softHsm2: string;
  pyKmip: string;
  /** os.loadavg() (1, 5, 15 min) when the run started and ended: other work on the machine shows here. */
  loadAverage: { start: number[]; end: number[] };
  totalSeconds: number;
  results: KmsResult[];
}

function ms(x: number): string {
  return x < 1 ? x.toFixed(3) : x < 10 ? x.toFixed(2) : x.toFixed(1);
}

function rate(t: Throughput): string {
  return Math.round(t.opsPerSecond).toLocaleString('en-US');
}

function counterpartText(r: KmsResult, report: KmsReport): string {
  if (r.kind === 'in-process') return r.counterpart;
  if (r.kind === 'local') return `${r.counterpart}, child process`;
  const version = r.counterpart === 'SoftHSM2' ? report.softHsm2 : report.pyKmip;
  return `**${r.counterpart} ${version.split(' ')[0]}** (real)`;
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.slice(0, 200);
}

/** The main table: one row per provider configuration. */
export function formatTable(report: KmsReport): string {
  const concurrency = report.results.find((r) => r.measured)?.measured?.counts.concurrency ?? 16;
  const lines = [
    `| provider | counterpart | wrap p50 ms | wrap p95 ms | unwrap p50 ms | unwrap p95 ms | wrap ops/s (${concurrency} in flight) | unwrap ops/s (${concurrency} in flight) |`,
    '|---|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of report.results) {
    const m = r.measured;
    if (!m) {
      lines.push(`| ${r.label} | ${counterpartText(r, report)} | failed: ${firstLine(r.error ?? 'no result')} ||||||`);
      continue;
    }
    lines.push(`| ${r.label} | ${counterpartText(r, report)} | ${ms(m.wrap.p50)} | ${ms(m.wrap.p95)} | ${ms(m.unwrap.p50)} | ${ms(m.unwrap.p95)} | ${rate(m.wrapThroughput)} | ${rate(m.unwrapThroughput)} |`);
  }
  return lines.join('\n');
}

/** Means, counts, generateDataKey and sizes. */
export function formatDetails(report: KmsReport): string {
  const lines = [
    '| provider | sequential ops timed | wrap mean ms | unwrap mean ms | ops per throughput batch | generateDataKey p50 ms | generateDataKey p95 ms | wrapped key bytes (encoded) | CPU used by other processes |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of report.results) {
    const m = r.measured;
    if (!m) continue;
    const g = m.generateDataKey;
    lines.push(
      `| ${r.label} | ${m.counts.latency} | ${ms(m.wrap.mean)} | ${ms(m.unwrap.mean)} | ${m.counts.throughput} | ${g ? ms(g.p50) : '– (no native call)'} | ${g ? ms(g.p95) : '–'} | ${m.wrappedKeyBytes} | ${r.otherCpu === null ? 'n/a' : `${pct(r.otherCpu)}${r.otherCpu > BUSY_SHARE ? ' (busy)' : ''}`}${r.attempts > 1 ? `, measurement ${r.attempts}` : ''} |`,
    );
  }
  return lines.join('\n');
}

/** Vault Transit: rewrapMany against single rewraps. */
export function formatRewrap(report: KmsReport): string {
  const rows = report.results.filter((r) => r.measured?.rewrap);
  if (rows.length === 0) return '';
  const lines = [
    '| provider | DEKs | rewrapMany (one call) | single rewraps, sequential | single rewraps, 16 in flight | rewrapMany ÷ best single |',
    '|---|---:|---:|---:|---:|---:|',
  ];
  const cell = (t: Throughput): string => `${t.seconds >= 1 ? `${t.seconds.toFixed(2)} s` : `${ms(t.seconds * 1000)} ms`} (${rate(t)}/s)`;
  for (const r of rows) {
    const x = r.measured!.rewrap!;
    const best = Math.max(x.singleSequential.opsPerSecond, x.singleConcurrent.opsPerSecond);
    lines.push(`| ${r.label} | ${x.count} | ${cell(x.batch)} | ${cell(x.singleSequential)} | ${cell(x.singleConcurrent)} | ${(x.batch.opsPerSecond / best).toFixed(1)}× |`);
  }
  return lines.join('\n');
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

function load(l: number[]): string {
  return l.map((x) => x.toFixed(2)).join(' / ');
}

/** The kms section of RESULTS.md. */
export function formatKmsMarkdown(report: KmsReport): string {
  const m = report.machine;
  const shares = report.results.map((r) => r.otherCpu).filter((x): x is number => x !== null);
  const busiest = shares.length === 0 ? null : Math.max(...shares);
  const rewrap = formatRewrap(report);
  const out = [
    '## Key providers: wrap and unwrap',
    '',
    `Written by \`npm run bench:kms\` (bench/kms/, preset \`${report.preset}\`) on **${report.date}** in ${(report.totalSeconds / 60).toFixed(1)} minutes. Machine: ${m.cpu}, ${m.logicalCores} logical cores, ${m.memoryGiB.toFixed(1)} GiB, ${m.os}; Node ${report.node}. SoftHSM2 ${report.softHsm2}; PyKMIP ${report.pyKmip}. Counterparts: SoftHSM2 real (its PKCS#11 library loaded into the benchmark process, a private token); PyKMIP real (its Python server in a child process, TLS 1.2 with client certificates on 127.0.0.1); AWS KMS, Cloud KMS, Key Vault, Managed HSM and Vault Transit are the local protocol servers of test/kms/servers, run together in one child process (\`node --import tsx bench/kms/servers.ts\`) on 127.0.0.1; WebCrypto in process. Load average (1/5/15 min) at start ${load(report.loadAverage.start)}, at end ${load(report.loadAverage.end)}${busiest === null ? '' : `; other processes used at most ${pct(busiest)} of the machine's CPU while a configuration was measured${busiest > BUSY_SHARE ? ' (other work ran beside the benchmark: the rows marked in Details are pessimistic)' : ''}`}. Raw numbers, every operation: bench/results-kms.json.`,
    '',
    formatTable(report),
    '',
    '### Details',
    '',
    formatDetails(report),
    '',
    ...(rewrap === '' ? [] : ['### Vault Transit: rewrapMany against single rewraps', '', rewrap, '']),
    '### What the numbers mean',
    '',
    '- Latency: sequential calls, one at a time, each timed from the call to its resolved promise (p50/p95 by nearest rank). Throughput: one batch of wraps, then one of unwraps of the DEKs just wrapped, with 16 calls in flight; operations ÷ the batch\'s wall time. Every DEK and context is distinct; each configuration warms up first (sequential round trips and a burst at full concurrency, which also opens the connections and sessions).',
    '- Every timed result is checked outside the clock: each unwrapped (or generated) DEK must equal the one wrapped, rewrapped keys must name the new key version and unwrap to their DEK. A mismatch fails the run for that provider instead of posting a number.',
    '- The local servers measure the **client** (request building, SigV4 signing, JSON and base64, the context binding, the base\'s checks) plus HTTP/1.1 on loopback and each server\'s own crypto. They say nothing about a cloud KMS\'s latency: a real AWS/Google/Azure call adds a network round trip (milliseconds even within a region) and the service\'s own time, and real services apply request quotas and throttle. Use these rows for the SDK\'s overhead, not for capacity planning.',
    `- This 2-core machine is shared: before each configuration the run waits (up to 2 minutes) until other processes use under ${pct(BUSY_SHARE)} of the CPU over a second, measures, and measures again (at most 3 times in all, the last one reported) when other processes used more than that meanwhile; Details shows their share during the reported measurement (all cores\' busy time from os.cpus() minus this process tree\'s, from /proc). Rows still marked busy are pessimistic. Time the VM\'s host takes (steal) is invisible here: repeated runs of a row differ by up to a factor of about 2 on this VM.`,
    '- Running the servers in a child process keeps their work off the benchmark\'s event loop; with 2 cores, client and servers each get about one. In-process servers would have charged their JSON parsing, SigV4 verification and RSA to the client.',
    '- SoftHSM2 is a software token: C_WrapKey/C_UnwrapKey and C_Encrypt/C_Decrypt run on libuv\'s thread pool (pkcs11js *Async calls) with up to 4 sessions, so throughput is bounded by the pool and SoftHSM2\'s locking, not by a device. A hardware HSM is usually slower per call and has its own parallelism.',
    '- PyKMIP is a reference server (Python: a thread per connection under one interpreter lock, keys in SQLite through SQLAlchemy): its numbers bound what the KMIP client can do against it, not what a production KMIP appliance does. The KMIP client keeps up to 4 TLS connections, one request each at a time. KMIP 1.4 wraps with the server\'s AES-GCM and the context as additional data; KMIP 1.2 has no AEAD fields, so it is AES-CTR on the server plus a binding tag computed here (HKDF + HMAC-SHA256 over the DEK and context, on each wrap and unwrap).',
    '- WebCrypto rows are the floor: no I/O, just the provider base (checks, context digest, checksum) and the crypto. RSA-OAEP-256 unwrap is an RSA-3072 private-key operation. `multi` wraps under both KEKs (in parallel) and unwraps with the first part that opens (here the A256GCM part).',
    '- generateDataKey is timed only where the service makes the DEK in one call (AWS KMS GenerateDataKey, Vault Transit datakey with a derived key); elsewhere it is a random DEK plus a wrap, so the wrap row applies.',
    '- Vault Transit rewrapMany sends one batch_input request (derived keys: rewrap inside Vault; associated_data mode: a batch decrypt then a batch encrypt, because Vault\'s rewrap takes no associated_data), against one request per DEK (or two in associated_data mode) for single rewraps.',
  ];
  const failed = report.results.filter((r) => r.error !== null);
  if (failed.length > 0) out.push('', '**Failures:**', '', ...failed.map((r) => `- ${r.label}: ${firstLine(r.error!)}`));
  return out.join('\n');
}
