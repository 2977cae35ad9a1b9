/** Which browsers a benchmark run drives and how it goes through them (shared by bench:core and bench:e2e). */
import type { RuntimeId } from '../report.js';
import { cleanupMark, runCleanups } from './processes.js';
import { startBenchServer } from './server.js';

export type BrowserId = Exclude<RuntimeId, 'node'>;
export const ALL_BROWSERS: readonly BrowserId[] = ['chromium', 'firefox', 'webkit'];
export const TITLES: Record<BrowserId, string> = { chromium: 'Chromium', firefox: 'Firefox', webkit: 'WebKitGTK' };

/**
 * The browsers named by `--node-only` (none) or `--browsers=a,b`; undefined for any other argument.
 * @throws Error for an unknown browser name
 */
export function browsersFromFlag(arg: string): BrowserId[] | undefined {
  if (arg === '--node-only') return [];
  if (!arg.startsWith('--browsers=')) return undefined;
  const asked = arg.slice('--browsers='.length).split(',').map((s) => s.trim()).filter(Boolean);
  for (const b of asked) {
    if (!(ALL_BROWSERS as readonly string[]).includes(b)) throw new Error(`unknown browser "${b}"; expected some of ${ALL_BROWSERS.join(',')}`);
  }
  return asked as BrowserId[];
}

/**
 * Measures each browser in turn on one bench server, closing whatever a failed or timed-out browser
 * left open before the next one runs. A browser that fails yields `failed(id, message)`.
 */
export async function eachBrowser<R>(
  page: string | undefined,
  browsers: readonly BrowserId[],
  measure: (id: BrowserId, url: string) => Promise<R>,
  failed: (id: BrowserId, message: string) => R,
  done: (report: R) => void,
): Promise<void> {
  if (browsers.length === 0) return;
  try {
    const server = await startBenchServer(page);
    console.log(`benchmark page at ${server.url}`);
    for (const id of browsers) {
      let report: R;
      const mark = cleanupMark();
      try {
        report = await measure(id, server.url);
      } catch (err) {
        report = failed(id, err instanceof Error ? err.message : String(err));
      }
      await runCleanups(mark);
      done(report);
    }
  } finally {
    await runCleanups();
  }
}
