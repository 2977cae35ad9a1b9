/**
 * Writes a full run's report: bench/RESULTS.md for people (tables, targets, machine, runtimes,
 * date) and bench/results.json with every round's raw time for anyone re-analysing the numbers.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatResultsMarkdown, type BenchReport } from './report.js';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const RESULTS_MD = join(BENCH_DIR, 'RESULTS.md');
export const RESULTS_JSON = join(BENCH_DIR, 'results.json');

export function writeResults(report: BenchReport): void {
  writeFileSync(RESULTS_MD, formatResultsMarkdown(report));
  writeFileSync(RESULTS_JSON, `${JSON.stringify(report, null, 2)}\n`);
}
