/**
 * `npm run bench:e2e`: the end-to-end benchmark through the public API in Node and in Chromium,
 * Firefox and WebKit, in one run, one runtime at a time (the machine has two cores; parallel runs
 * would measure each other).
 *
 *   npm run bench:e2e                                   full workloads; writes the top section of bench/RESULTS.md and bench/results-e2e.json (only if every runtime succeeded)
 *   npm run bench:e2e -- --node-only                    Node only
 *   npm run bench:e2e -- --browsers=chromium,webkit     Node and the listed browsers
 *   npm run bench:e2e -- --quick                        10,000 records, a 100,000-record stream, one round: a smoke test; writes nothing
 *   npm run bench:e2e -- --snapshot                     measures a copy of src/ and bench/ taken at the start (snapshot.ts), for a tree others are editing
 *
 * Exits non-zero when any runtime failed (launch, timeout or a cross-check mismatch), or when src/
 * changed during the run (then nothing is written either: the runtimes may have measured different
 * versions of the SDK).
 */
import { ALL_BROWSERS, browsersFromFlag, eachBrowser, TITLES, type BrowserId } from '../browser/which.js';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WASM_SHA256 } from '../../src/core/_wasm-bytes.js';
import { runInPlaywright } from '../browser/drive-playwright.js';
import { runInWebKit } from '../browser/drive-webkit.js';
import { runCleanups, withTimeout } from '../browser/processes.js';
import { machineInfo } from '../node-bench.js';
import type { RuntimeId } from '../report.js';
import { RESULTS_E2E_JSON, RESULTS_MD, writeE2eResults } from '../results-file.js';
import type { E2eRun } from './bench.js';
import { runNodeE2e } from './node.js';
import { formatBackendMatrix, formatE2eMarkdown, formatRuntimeE2e, formatStream, formatSummary, formatTargets, type E2eReport, type E2eRuntimeReport } from './report.js';
import { runFromSnapshot, runningFromSnapshot } from './snapshot.js';
import { sourceDigest } from './source-stamp.js';
import type { E2ePresetName } from './workloads.js';

const SRC_DIR = fileURLToPath(new URL('../../src', import.meta.url));

/** Upper bound for one browser's whole run; a full run takes a few minutes per browser here. */
const PAGE_TIMEOUT_MS: Record<E2ePresetName, number> = { full: 900_000, quick: 240_000 };
/** Launch, page load and teardown on top of the page's own time. */
const DRIVER_SLACK_MS = 120_000;
/** Exact (not bucketed) performance.memory in Chromium, for the stream's heap growth. */
const CHROMIUM_EXTRA_ARGS = ['--enable-precise-memory-info'];

interface Options {
  preset: E2ePresetName;
  browsers: BrowserId[];
  /** Run on a copy of src/ and bench/ (snapshot.ts). */
  snapshot: boolean;
  /** Where results go (set by a snapshot run to the real bench/). */
  resultsDir: string | undefined;
}

function parseArgs(argv: readonly string[]): Options {
  let preset: E2ePresetName = 'full';
  let browsers: BrowserId[] = [...ALL_BROWSERS];
  let snapshot = false;
  let resultsDir: string | undefined;
  for (const arg of argv) {
    if (arg === '--quick') preset = 'quick';
    else if (arg === '--snapshot') snapshot = true;
    else if (arg.startsWith('--results-dir=')) resultsDir = arg.slice('--results-dir='.length);
    else if (browsersFromFlag(arg) !== undefined) browsers = browsersFromFlag(arg)!;
    else if (arg === '--help' || arg === '-h') {
      console.log('usage: npm run bench:e2e -- [--quick] [--node-only | --browsers=chromium,firefox,webkit] [--snapshot]');
      process.exit(0);
    } else throw new Error(`unknown argument "${arg}" (try --help)`);
  }
  return { preset, browsers, snapshot, resultsDir };
}

async function runBrowser(id: BrowserId, url: string, preset: E2ePresetName): Promise<E2eRuntimeReport> {
  const log = (line: string): void => console.log(`[${id}] ${line}`);
  const pageUrl = `${url}?preset=${preset}`;
  const timeout = PAGE_TIMEOUT_MS[preset];
  const run =
    id === 'webkit' ? runInWebKit<E2eRun>(pageUrl, timeout, log) : runInPlaywright<E2eRun>(id, pageUrl, timeout, log, id === 'chromium' ? CHROMIUM_EXTRA_ARGS : []);
  return withTimeout(run, timeout + DRIVER_SLACK_MS, `${TITLES[id]} end-to-end benchmark`);
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  if (options.snapshot) return runFromSnapshot(process.argv.slice(2).filter((a) => a !== '--snapshot'));
  const started = Date.now();
  const stop = (signal: NodeJS.Signals): void => {
    console.error(`\n${signal}: stopping browsers and servers…`);
    void runCleanups().finally(() => process.exit(130));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  const srcAtStart = sourceDigest(SRC_DIR);
  const runtimes: E2eRuntimeReport[] = [];
  const node = await runNodeE2e(options.preset, (line) => console.log(line));
  console.log(`\n${formatRuntimeE2e(node, '##')}\n`);
  runtimes.push(node);

  await eachBrowser<E2eRuntimeReport>(
    'e2e.html',
    options.browsers,
    (id, url) => runBrowser(id, url, options.preset),
    (id, error) => ({ runtime: { id, name: TITLES[id], userAgent: null, detail: null }, run: null, error }),
    (report) => {
      console.log(`\n${formatRuntimeE2e(report, '##')}\n`);
      runtimes.push(report);
    },
  );

  const report: E2eReport = {
    date: new Date().toISOString(),
    preset: options.preset,
    machine: machineInfo(),
    coreBuild: WASM_SHA256,
    srcDigest: srcAtStart,
    fromSnapshot: runningFromSnapshot(),
    runtimes,
    totalSeconds: (Date.now() - started) / 1000,
  };
  console.log(['', '## Summary', '', formatSummary(report), '', '## Targets', '', formatTargets(report)].join('\n'));
  console.log(['', '## Backends × workers, 768-d', '', formatBackendMatrix(report, '768d'), '', '## Backends × workers, 256-B', '', formatBackendMatrix(report, '256b')].join('\n'));
  console.log(['', '## Stream', '', formatStream(report)].join('\n'));
  const failed = runtimes.filter((r) => r.error !== null || r.run?.streamError);
  const srcChanged = sourceDigest(SRC_DIR) !== srcAtStart;
  if (srcChanged) console.error('\nsrc/ changed while the benchmark ran: the runtimes may have measured different versions of the SDK');
  if (options.preset !== 'full') {
    console.log(`\n(--${options.preset}: RESULTS.md and results-e2e.json left unchanged)`);
  } else if (failed.length > 0 || srcChanged) {
    console.log(`\n(${srcChanged ? 'src/ changed during the run' : 'a runtime failed'}: RESULTS.md and results-e2e.json left unchanged; rerun)`);
  } else {
    writeE2eResults(formatE2eMarkdown(report), report, options.resultsDir);
    const dir = options.resultsDir;
    console.log(`\nwrote ${dir ? join(dir, 'RESULTS.md') : RESULTS_MD} (end-to-end section) and ${dir ? join(dir, 'results-e2e.json') : RESULTS_E2E_JSON}`);
  }
  console.log(`total ${Math.round(report.totalSeconds)} s`);
  for (const f of failed) console.error(`FAILED ${f.runtime.name}: ${f.error ?? `stream: ${f.run?.streamError}`}`);
  return failed.length > 0 || srcChanged ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  async (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    await runCleanups();
    process.exit(1);
  },
);
