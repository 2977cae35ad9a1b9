/**
 * `npm run bench:core` (and the first half of `npm run bench`, see all.ts): the core benchmark in
 * Node and in Chromium, Firefox and WebKit, in one run, one runtime at a time (the machine has two
 * cores; parallel runs would measure each other).
 *
 *   npm run bench:core                                   full workloads, writes the core section of bench/RESULTS.md and bench/results.json
 *   npm run bench:core -- --node-only                    Node only
 *   npm run bench:core -- --browsers=chromium,webkit     Node and the listed browsers
 *   npm run bench:core -- --quick                        small counts, a smoke test for CI; writes nothing
 *
 * Exits non-zero when any runtime failed (launch, timeout or a cross-validation mismatch).
 */
import { ALL_BROWSERS, browsersFromFlag, eachBrowser, TITLES, type BrowserId } from './browser/which.js';
import { runInPlaywright } from './browser/drive-playwright.js';
import { runInWebKit } from './browser/drive-webkit.js';
import { runCleanups, withTimeout } from './browser/processes.js';
import { libraryVersions, machineInfo, runNodeBench } from './node-bench.js';
import { formatRuntime, targetLines, type BenchReport, type RuntimeId, type RuntimeReport } from './report.js';
import { RESULTS_JSON, RESULTS_MD, writeResults } from './results-file.js';
import { ensureThirdParty } from './thirdparty-install.js';
import type { PresetName } from './workloads.js';

/** Upper bound for one browser's whole benchmark; a full run takes a few minutes per browser here. */
const PAGE_TIMEOUT_MS: Record<PresetName, number> = { full: 480_000, moderate: 180_000, quick: 120_000 };
/** Launch, page load and teardown on top of the page's own time. */
const DRIVER_SLACK_MS = 120_000;

interface Options {
  preset: PresetName;
  browsers: BrowserId[];
}

function parseArgs(argv: readonly string[]): Options {
  let preset: PresetName = 'full';
  let browsers: BrowserId[] = [...ALL_BROWSERS];
  for (const arg of argv) {
    if (arg === '--quick') preset = 'quick';
    else if (browsersFromFlag(arg) !== undefined) browsers = browsersFromFlag(arg)!;
    else if (arg === '--help' || arg === '-h') {
      console.log('usage: npm run bench:core -- [--quick] [--node-only | --browsers=chromium,firefox,webkit]');
      process.exit(0);
    } else throw new Error(`unknown argument "${arg}" (try --help)`);
  }
  return { preset, browsers };
}

function runBrowser(id: BrowserId, url: string, preset: PresetName): Promise<RuntimeReport> {
  const log = (line: string): void => console.log(`[${id}] ${line}`);
  const pageUrl = `${url}?preset=${preset}`;
  const timeout = PAGE_TIMEOUT_MS[preset];
  const run = id === 'webkit' ? runInWebKit(pageUrl, timeout, log) : runInPlaywright(id, pageUrl, timeout, log);
  return withTimeout(run, timeout + DRIVER_SLACK_MS, `${TITLES[id]} benchmark`);
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const stop = (signal: NodeJS.Signals): void => {
    console.error(`\n${signal}: stopping browsers and servers…`);
    void runCleanups().finally(() => process.exit(130));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  ensureThirdParty();
  const runtimes: RuntimeReport[] = [];
  const node = await runNodeBench(options.preset, (line) => console.log(line));
  console.log(`\n${formatRuntime(node)}\n`);
  runtimes.push(node);

  await eachBrowser<RuntimeReport>(
    undefined,
    options.browsers,
    (id, url) => runBrowser(id, url, options.preset),
    (id, error) => ({ runtime: { id, name: TITLES[id], userAgent: null, detail: null }, run: null, error }),
    (report) => {
      console.log(`\n${formatRuntime(report)}\n`);
      runtimes.push(report);
    },
  );

  const report: BenchReport = { date: new Date().toISOString(), preset: options.preset, machine: machineInfo(), libraries: libraryVersions(), runtimes };
  console.log(['Targets:', ...targetLines(report)].join('\n'));
  if (options.preset === 'full') {
    writeResults(report);
    console.log(`\nwrote ${RESULTS_MD} and ${RESULTS_JSON}`);
  } else {
    console.log(`\n(--${options.preset}: RESULTS.md and results.json left unchanged)`);
  }
  console.log(`total ${Math.round((Date.now() - started) / 1000)} s`);
  const failed = runtimes.filter((r) => r.error !== null);
  for (const f of failed) console.error(`FAILED ${f.runtime.name}: ${f.error}`);
  return failed.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  async (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    await runCleanups();
    process.exit(1);
  },
);
