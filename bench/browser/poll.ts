/**
 * Collects the page's progress and result by short polls. A single long-running evaluate would
 * hit driver timeouts (WebKitWebDriver's script timeout in particular) and hide progress; a poll
 * every second costs nothing the benchmark measures, because the page yields between rounds.
 */
import type { BenchRun } from '../core-bench.js';
import { sleep } from './processes.js';

export type PageResult<R = BenchRun> =
  | { ok: true; run: R; userAgent: string; crossOriginIsolated: boolean }
  | { ok: false; error: string; userAgent: string };

interface PollState<R> {
  progress: string[];
  result: PageResult<R> | null;
}

/** An expression (Playwright evaluate) and, with `return `, a function body (WebDriver execute). Strings, not functions: tsx may rewrite a function's source. */
export const POLL_EXPRESSION =
  '(() => { const w = window; const progress = Array.isArray(w.__benchProgress) ? w.__benchProgress.splice(0) : []; ' +
  'return { progress, result: w.__benchResult === undefined ? null : w.__benchResult }; })()';

/**
 * Polls until the page reports a result.
 * @throws Error when the page reports a failure or nothing arrives within `timeoutMs`
 */
export async function pollPage<R = BenchRun>(evaluate: () => Promise<unknown>, timeoutMs: number, log: (line: string) => void): Promise<{ run: R; userAgent: string; crossOriginIsolated: boolean }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = (await evaluate()) as PollState<R> | null;
    for (const line of state?.progress ?? []) log(line);
    const result = state?.result ?? null;
    if (result !== null) {
      if (!result.ok) throw new Error(`the page failed: ${result.error}`);
      return result;
    }
    if (Date.now() > deadline) throw new Error(`no result within ${Math.round(timeoutMs / 1000)} s`);
    await sleep(1000);
  }
}
