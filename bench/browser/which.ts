/** Which browsers a benchmark run drives, from its command-line flags (shared by bench:core and bench:e2e). */
import type { RuntimeId } from '../report.js';

export type BrowserId = Exclude<RuntimeId, 'node'>;
export const ALL_BROWSERS: readonly BrowserId[] = ['chromium', 'firefox', 'webkit'];

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
