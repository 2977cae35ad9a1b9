/**
 * Test projects: `node` (every *.test.ts except *.browser.test.ts), and the same portable suites in
 * real browsers: `browser` (Debian Chromium and Firefox ESR through Playwright) and `webkit`
 * (WebKitGTK MiniBrowser through WebKitWebDriver, started by scripts/with-webkit-driver.mjs).
 * Browser projects run *.test.ts except *.node.test.ts. Working settings from shared/recipes/browsers.
 */
import { defineConfig } from 'vitest/config';
import { playwright } from '@vitest/browser-playwright';
import { webdriverio } from '@vitest/browser-webdriverio';

// Vitest 5's reporter calls Map.groupBy, which Node 20 lacks (it warns that it wants Node 22);
// without this a failing test crashes the reporter instead of printing why it failed.
if (typeof (Map as { groupBy?: unknown }).groupBy !== 'function') {
  Object.defineProperty(Map, 'groupBy', {
    configurable: true,
    writable: true,
    value<K, V>(items: Iterable<V>, key: (item: V, index: number) => K): Map<K, V[]> {
      const groups = new Map<K, V[]>();
      let i = 0;
      for (const item of items) {
        const k = key(item, i++);
        const list = groups.get(k);
        if (list) list.push(item);
        else groups.set(k, [item]);
      }
      return groups;
    },
  });
}

const chromiumArgs = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const webkitDriverPort = Number(process.env.WEBKIT_DRIVER_PORT ?? 4444);
const browserInclude = ['test/**/*.test.ts'];
const browserExclude = ['test/**/*.node.test.ts'];
// Local protocol servers (AWS KMS, Google Cloud KMS, Azure Key Vault, Vault Transit) for the provider
// suites: set per project, so each project (and each browser instance) gets its own servers and the
// fault tests of one browser cannot arm faults under another running at the same time.
const globalSetup = ['test/kms/servers/global-setup.ts'];

export default defineConfig({
  server: {
    host: '127.0.0.1',
    // Cross-origin isolation, as a deployed app would set it for SharedArrayBuffer.
    headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
  },
  test: {
    testTimeout: 120_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          environment: 'node',
          globalSetup,
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.browser.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'browser',
          globalSetup,
          include: browserInclude,
          exclude: browserExclude,
          browser: {
            enabled: true,
            headless: true,
            screenshotFailures: false,
            instances: [
              { browser: 'chromium', provider: playwright({ launchOptions: { executablePath: '/usr/bin/chromium', args: chromiumArgs } }) },
              { browser: 'firefox', provider: playwright({ launchOptions: { channel: 'moz-firefox', executablePath: '/usr/bin/firefox-esr' } as never }) },
            ],
          },
        },
      },
      {
        extends: true,
        test: {
          name: 'webkit',
          globalSetup,
          include: browserInclude,
          exclude: browserExclude,
          browser: {
            enabled: true,
            headless: false, // vitest refuses headless for 'safari'; Xvfb provides the display
            screenshotFailures: false,
            instances: [
              {
                browser: 'safari',
                provider: webdriverio({
                  hostname: '127.0.0.1',
                  port: webkitDriverPort,
                  path: '/',
                  capabilities: {
                    'wdio:enforceWebDriverClassic': true,
                    'webkitgtk:browserOptions': { binary: '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser', args: ['--automation'] },
                  } as never,
                  // vitest asks for browserName 'safari'; WebKitWebDriver only matches 'MiniBrowser'.
                  transformRequest: (req: { body?: unknown }) => {
                    if (typeof req.body === 'string') req.body = req.body.replace('"browserName":"safari"', '"browserName":"MiniBrowser"');
                    return req;
                  },
                } as never),
              },
            ],
          },
        },
      },
    ],
  },
});
