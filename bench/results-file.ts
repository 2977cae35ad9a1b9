/**
 * Writes a full run's report: bench/RESULTS.md for people and a JSON file with every round's raw
 * time for anyone re-analysing the numbers (bench/results.json for the core benchmark,
 * bench/results-e2e.json for the end-to-end one).
 *
 * RESULTS.md holds two sections, each between marker comments: the end-to-end benchmark on top,
 * the core benchmark below. Each benchmark rewrites only its own section and keeps the other's.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatResultsMarkdown, type BenchReport } from './report.js';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const RESULTS_MD = join(BENCH_DIR, 'RESULTS.md');
export const RESULTS_JSON = join(BENCH_DIR, 'results.json');
export const RESULTS_E2E_JSON = join(BENCH_DIR, 'results-e2e.json');

type SectionId = 'e2e' | 'core' | 'kms' | 'lifecycle';
const SECTIONS: readonly SectionId[] = ['e2e', 'core', 'kms', 'lifecycle'];

const TITLE = [
  '# vecseal benchmarks: results',
  '',
  'Four benchmarks, each section written by its own full run (`npm run bench` runs all four):',
  '',
  '- [End-to-end through the public API](#end-to-end-through-the-public-api) (`npm run bench:e2e`, bench/e2e/): `encryptVectors`, `decryptVectors` and `encryptStream` with workers, against the WebCrypto and node:crypto loops a user would write; raw numbers in bench/results-e2e.json.',
  '- [Core, single thread](#core-benchmark-single-thread) (`npm run bench:core`, bench/run.ts): the WebAssembly core\'s batch calls on one thread; raw numbers in bench/results.json.',
  '- [Key providers](#key-providers-wrap-and-unwrap) (`npm run bench:kms`, bench/kms/): wrap/unwrap latency and throughput of every KeyProvider (SoftHSM2 and PyKMIP real, the cloud KMSs and Vault against the local protocol servers); raw numbers in bench/results-kms.json.',
  '- [Re-encryption after a DEK rotation](#re-encryption-after-a-dek-rotation) (`npm run bench:lifecycle`, bench/lifecycle/): `client.reencrypt` over 1,000,000 records with throughput and peak memory, against a WebCrypto loop; raw numbers in bench/results-lifecycle.json.',
  '',
].join('\n');

/** The core section's title (formatResultsMarkdown), given to a RESULTS.md written before it. */
const LEGACY_CORE_TITLE = '# Core benchmark (single thread)';

function begin(id: SectionId): string {
  return `<!-- vecseal-bench:${id}:begin (written by the benchmark; edits here are overwritten) -->`;
}

function end(id: SectionId): string {
  return `<!-- vecseal-bench:${id}:end -->`;
}

/** One level deeper for every markdown heading (the core report is written as a document of its own). */
export function demoteHeadings(markdown: string): string {
  return markdown.replace(/^(#{1,5}) /gm, '#$1 ');
}

function readSections(md: string): Partial<Record<SectionId, string>> {
  if (!existsSync(md)) return {};
  const text = readFileSync(md, 'utf8');
  const out: Partial<Record<SectionId, string>> = {};
  let marked = false;
  for (const id of SECTIONS) {
    const from = text.indexOf(begin(id));
    const to = text.indexOf(end(id));
    if (from >= 0 && to > from) {
      out[id] = text.slice(from + begin(id).length, to).trim();
      marked = true;
    }
  }
  // A RESULTS.md from before the sections existed is the core report alone.
  if (!marked && text.trim() !== '') out.core = demoteHeadings(text.trim().replace(/^# vecseal core benchmark: results$/m, LEGACY_CORE_TITLE));
  return out;
}

function writeSection(id: SectionId, body: string, md = RESULTS_MD): void {
  const sections = { ...readSections(md), [id]: body.trim() };
  const parts = [TITLE];
  for (const s of SECTIONS) {
    const text = sections[s];
    if (text !== undefined) parts.push(begin(s), '', text, '', end(s), '');
  }
  writeFileSync(md, parts.join('\n'));
}

/** The core benchmark's report: results.json, and its section of RESULTS.md. */
export function writeResults(report: BenchReport): void {
  writeSection('core', demoteHeadings(formatResultsMarkdown(report)));
  writeFileSync(RESULTS_JSON, `${JSON.stringify(report, null, 2)}\n`);
}

/**
 * The end-to-end benchmark's report: results-e2e.json, and its section of RESULTS.md.
 * @param dir where both files are (bench/ by default; a snapshot run writes back to the real bench/)
 */
export function writeE2eResults(markdown: string, json: unknown, dir = BENCH_DIR): void {
  writeSection('e2e', markdown, join(dir, 'RESULTS.md'));
  writeFileSync(join(dir, 'results-e2e.json'), `${JSON.stringify(json, null, 2)}\n`);
}

/** The key-provider benchmark's report: results-kms.json, and its section of RESULTS.md. */
export function writeKmsResults(markdown: string, json: unknown): void {
  writeSection('kms', markdown);
  writeFileSync(join(BENCH_DIR, 'results-kms.json'), `${JSON.stringify(json, null, 2)}\n`);
}

/** The re-encryption benchmark's report: results-lifecycle.json, and its section of RESULTS.md. */
export function writeLifecycleResults(markdown: string, json: unknown): void {
  writeSection('lifecycle', markdown);
  writeFileSync(join(BENCH_DIR, 'results-lifecycle.json'), `${JSON.stringify(json, null, 2)}\n`);
}
