/**
 * Runs the benchmark page in WebKitGTK's MiniBrowser: `xvfb-run -a WebKitWebDriver --port=N`
 * (WebKitGTK needs an X display) driven by webdriverio over classic WebDriver. Playwright cannot
 * launch Debian's WebKit, so this is the one browser driven differently.
 */
import { remote } from 'webdriverio';
import type { BenchRun } from '../core-bench.js';
import type { RuntimeInfo } from '../report.js';
import { pollPage, POLL_EXPRESSION } from './poll.js';
import { freePort, onCleanup, startGroup, waitForHttp, withTimeout } from './processes.js';

const MINIBROWSER = process.env.VECSEAL_MINIBROWSER ?? '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';

/**
 * Starts the driver, opens `url`, waits for the page's result, and always stops every process it
 * started. `R` is what the page leaves in `__benchResult.run` (the core benchmark's BenchRun by default).
 */
export async function runInWebKit<R = BenchRun>(url: string, timeoutMs: number, log: (line: string) => void): Promise<{ runtime: RuntimeInfo; run: R; error: null }> {
  const port = await freePort();
  // JSC_useSharedArrayBuffer=1: WebKitGTK keeps SharedArrayBuffer off otherwise, even when isolated.
  const driver = startGroup('xvfb-run', ['-a', '-s', '-screen 0 1280x1024x24', 'WebKitWebDriver', `--port=${port}`], {
    ...process.env,
    JSC_useSharedArrayBuffer: '1',
  });
  try {
    await waitForHttp(`http://127.0.0.1:${port}/status`, 30_000, driver);
    const session = await remote({
      hostname: '127.0.0.1',
      port,
      path: '/',
      logLevel: 'silent', // failures are reported by the run itself
      connectionRetryCount: 1,
      capabilities: {
        browserName: 'MiniBrowser',
        'wdio:enforceWebDriverClassic': true, // WebKitWebDriver 2.50 rejects webSocketUrl: true
        'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] },
      } as WebdriverIO.Capabilities,
    });
    const endSession = onCleanup(() => withTimeout(session.deleteSession(), 10_000, 'closing the WebKit session'));
    try {
      const caps = session.capabilities as WebdriverIO.Capabilities;
      const name = `WebKitGTK ${caps.browserVersion ?? ''}`.trim();
      await session.url(url);
      const result = await pollPage<R>(() => session.execute(`return ${POLL_EXPRESSION}`), timeoutMs, log);
      return {
        runtime: { id: 'webkit', name, userAgent: result.userAgent, detail: `MiniBrowser via WebKitWebDriver + webdriverio, crossOriginIsolated=${result.crossOriginIsolated}` },
        run: result.run,
        error: null,
      };
    } finally {
      await endSession();
    }
  } finally {
    await driver.stop();
  }
}
