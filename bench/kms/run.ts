/**
 * `npm run bench:kms`: wrap/unwrap latency and throughput of every KeyProvider on this machine,
 * one configuration at a time (the machine has two cores; parallel runs would measure each other).
 * SoftHSM2 and PyKMIP are the real thing; the cloud KMSs and Vault are the local protocol servers of
 * test/kms/servers, in a child process.
 *
 *   npm run bench:kms                          full counts; writes the kms section of bench/RESULTS.md and bench/results-kms.json
 *   npm run bench:kms -- --quick               small counts, a smoke test; writes nothing
 *   npm run bench:kms -- --only=aws-kms,kmip   only configurations whose key starts with one of these; writes nothing
 *
 * Exits non-zero when any configuration failed (set-up, an operation, or a DEK that came back wrong).
 */
import { arch, cpus, loadavg, platform, release, totalmem } from 'node:os';
import type { MachineInfo } from '../report.js';
import { writeKmsResults } from '../results-file.js';
import { counterpartVersions, stopAll } from './counterparts.js';
import { BUSY_SHARE, cpuSnapshot, otherCpuShare, waitForQuiet } from './cpu.js';
import { countsFor, measureBatchRewrap, measureProvider, type Preset } from './measure.js';
import { formatDetails, formatKmsMarkdown, formatRewrap, formatTable, type KmsReport, type KmsResult } from './report.js';
import { SETUPS, type Setup } from './setups.js';
import type { VaultTransitProvider } from '../../src/kms/vault-transit.js';

/** How long a full run waits, before each configuration, for other work on the machine to end. */
const QUIET_WAIT_MS = 120_000;
/** Measurements of one configuration in a full run when other work keeps disturbing them. */
const MAX_ATTEMPTS = 3;

interface Options {
  preset: Preset;
  only: string[] | undefined;
}

function parseArgs(argv: readonly string[]): Options {
  let preset: Preset = 'full';
  let only: string[] | undefined;
  for (const arg of argv) {
    if (arg === '--quick') preset = 'quick';
    else if (arg.startsWith('--only=')) only = arg.slice('--only='.length).split(',').filter((s) => s !== '');
    else if (arg === '--help' || arg === '-h') {
      console.log(`usage: npm run bench:kms -- [--quick] [--only=key,...]\nkeys: ${SETUPS.map((s) => s.key).join(', ')}`);
      process.exit(0);
    } else throw new Error(`unknown argument "${arg}" (try --help)`);
  }
  return { preset, only };
}

function machineInfo(): MachineInfo {
  const list = cpus();
  return { cpu: list[0]?.model.trim() ?? 'unknown CPU', logicalCores: list.length, memoryGiB: totalmem() / 2 ** 30, os: `${platform()} ${release()} (${arch()})` };
}

function message(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

async function runSetup(setup: Setup, preset: Preset): Promise<KmsResult> {
  const result: KmsResult = { key: setup.key, label: setup.label, kind: setup.kind, counterpart: setup.counterpart, measured: null, error: null, otherCpu: null, attempts: 0 };
  const log = (line: string): void => console.log(line);
  console.log(`\n${setup.label} (${setup.counterpart})`);
  let opened;
  try {
    opened = await setup.open();
  } catch (err) {
    result.error = `set-up failed: ${message(err)}`;
    console.error(`  ${result.error}`);
    return result;
  }
  try {
    const counts = countsFor(preset);
    // On a shared machine, a measurement that other work disturbed is taken again (at most MAX_ATTEMPTS in all).
    for (let attempt = 1; ; attempt++) {
      if (preset === 'full') await waitForQuiet(QUIET_WAIT_MS, log);
      const before = cpuSnapshot();
      const measured = await measureProvider(opened.provider, counts, setup.nativeDataKey === true, log);
      if (setup.batchRewrap) {
        if (!opened.rotate) throw new Error('batch rewrap needs rotate()');
        measured.rewrap = await measureBatchRewrap(opened.provider as VaultTransitProvider, opened.rotate, counts, log);
      }
      result.otherCpu = otherCpuShare(before, cpuSnapshot());
      result.measured = measured;
      result.attempts = attempt;
      if (preset !== 'full' || result.otherCpu === null || result.otherCpu <= BUSY_SHARE || attempt === MAX_ATTEMPTS) break;
      log(`  other processes used ${(result.otherCpu * 100).toFixed(0)}% of the CPU meanwhile: measuring again`);
    }
  } catch (err) {
    result.error = message(err);
    console.error(`  FAILED: ${result.error}`);
  } finally {
    await opened.close?.();
  }
  return result;
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const stop = (signal: NodeJS.Signals): void => {
    console.error(`\n${signal}: stopping servers…`);
    void stopAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  const setups = options.only === undefined ? SETUPS : SETUPS.filter((s) => options.only!.some((o) => s.key.startsWith(o)));
  if (setups.length === 0) throw new Error(`--only matched nothing (keys: ${SETUPS.map((s) => s.key).join(', ')})`);
  const loadStart = loadavg();
  const versions = counterpartVersions();
  const results: KmsResult[] = [];
  try {
    for (const setup of setups) results.push(await runSetup(setup, options.preset));
  } finally {
    await stopAll();
  }

  const report: KmsReport = {
    date: new Date().toISOString(),
    preset: options.preset,
    machine: machineInfo(),
    node: process.version,
    softHsm2: versions.softHsm2,
    pyKmip: versions.pyKmip,
    loadAverage: { start: loadStart, end: loadavg() },
    totalSeconds: (Date.now() - started) / 1000,
    results,
  };
  const rewrap = formatRewrap(report);
  console.log(`\n${formatTable(report)}\n\n${formatDetails(report)}\n${rewrap === '' ? '' : `\n${rewrap}\n`}`);
  console.log(`load average at start ${loadStart.map((x) => x.toFixed(2)).join(' ')}, at end ${report.loadAverage.end.map((x) => x.toFixed(2)).join(' ')}`);
  if (options.preset === 'full' && options.only === undefined) {
    writeKmsResults(formatKmsMarkdown(report), report);
    console.log('wrote the kms section of bench/RESULTS.md and bench/results-kms.json');
  } else {
    console.log(`(${options.preset === 'quick' ? '--quick' : '--only'}: RESULTS.md and results-kms.json left unchanged)`);
  }
  console.log(`total ${Math.round(report.totalSeconds)} s`);
  const failed = results.filter((r) => r.error !== null);
  for (const f of failed) console.error(`FAILED ${f.label}: ${f.error}`);
  return failed.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  async (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    await stopAll();
    process.exit(1);
  },
);
