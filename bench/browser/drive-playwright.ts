/**
 * Runs the benchmark page in Debian's Chromium and Firefox ESR through Playwright: Chromium with
 * its own protocol, Firefox over WebDriver BiDi (`channel: 'moz-firefox'`; Playwright's Juggler
 * protocol needs a patched Firefox this machine does not have).
 */
import { chromium, firefox, type Browser } from 'playwright';
import type { BenchRun } from '../core-bench.js';
import type { RuntimeInfo } from '../report.js';
import { pollPage, POLL_EXPRESSION } from './poll.js';
import { onCleanup, withTimeout } from './processes.js';

/** Flags for Chromium running as root in a container without a GPU or network. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export type PlaywrightBrowserId = 'chromium' | 'firefox';

function launch(id: PlaywrightBrowserId, extraChromiumArgs: readonly string[]): Promise<Browser> {
  if (id === 'chromium') {
    return chromium.launch({ executablePath: process.env.VECSEAL_CHROMIUM ?? '/usr/bin/chromium', args: [...CHROMIUM_ARGS, ...extraChromiumArgs], timeout: 60_000 });
  }
  return firefox.launch({ channel: 'moz-firefox', executablePath: process.env.VECSEAL_FIREFOX ?? '/usr/bin/firefox-esr', timeout: 60_000 });
}

/**
 * Opens `url` in a fresh browser, waits for the page's result, and always closes the browser.
 * `R` is what the page leaves in `__benchResult.run` (the core benchmark's BenchRun by default).
 */
export async function runInPlaywright<R = BenchRun>(
  id: PlaywrightBrowserId,
  url: string,
  timeoutMs: number,
  log: (line: string) => void,
  extraChromiumArgs: readonly string[] = [],
): Promise<{ runtime: RuntimeInfo; run: R; error: null }> {
  const title = id === 'chromium' ? 'Chromium' : 'Firefox';
  let name = title;
  const browser = await launch(id, extraChromiumArgs);
  // Closing is bounded: a page stuck in a long synchronous call must not keep the run alive.
  const close = onCleanup(() => withTimeout(browser.close(), 10_000, `closing ${title}`));
  try {
    name = `${title} ${browser.version()}`;
    const page = await browser.newPage();
    page.on('pageerror', (err) => log(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') log(`console error: ${msg.text()}`);
    });
    await page.goto(url, { waitUntil: 'load', timeout: 60_000 });
    const result = await pollPage<R>(() => page.evaluate(POLL_EXPRESSION), timeoutMs, log);
    return {
      runtime: { id, name, userAgent: result.userAgent, detail: `Playwright ${id === 'firefox' ? 'over WebDriver BiDi' : 'CDP'}, crossOriginIsolated=${result.crossOriginIsolated}` },
      run: result.run,
      error: null,
    };
  } finally {
    await close();
  }
}
