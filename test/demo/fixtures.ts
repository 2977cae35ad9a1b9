/**
 * One handle on the demo page for every browser: Playwright's page for Chromium and Firefox, a
 * webdriverio session through WebKitWebDriver for WebKitGTK. The spec only clicks, types, selects,
 * reads text, reloads and takes screenshots, so the two drivers meet in a small interface.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test as base } from '@playwright/test';
import { remote } from 'webdriverio';

export const SCREENSHOTS = new URL('../../test-results/demo/', import.meta.url).pathname;

export interface DemoPage {
  browser: string;
  open(): Promise<void>;
  reload(): Promise<void>;
  click(id: string): Promise<void>;
  fill(id: string, text: string): Promise<void>;
  select(id: string, value: string): Promise<void>;
  /** Writes these localStorage entries (to set up states a person reaches by closing the page at a bad moment). */
  setStorage(entries: Record<string, string>): Promise<void>;
  /** Chooses a file with this name and text in a file input. */
  upload(id: string, name: string, text: string): Promise<void>;
  text(id: string): Promise<string>;
  /** Texts of the elements matching a CSS selector. */
  texts(selector: string): Promise<string[]>;
  disabled(id: string): Promise<boolean>;
  /** Waits until the page has started and no action is running; throws the status line if it failed to start. */
  idle(timeoutMs?: number): Promise<void>;
  screenshot(step: string): Promise<void>;
  /** Console errors the page logged. */
  errors: string[];
}

const IDLE_TIMEOUT_MS = 180_000;
/**
 * A WebKitWebDriver request that takes longer than this fails instead of waiting webdriverio's
 * default 120 s and then being sent again three times: a web process that stops answering then shows
 * up as an error naming the request, with the diagnostics below, well inside the test's time.
 */
const WEBKIT_REQUEST_TIMEOUT_MS = 60_000;

/** The WebKit processes with their state and CPU time, twice 5 s apart: a busy loop and a deadlock look different. */
async function webkitProcesses(): Promise<string> {
  const sample = (): string => {
    try {
      return execFileSync('ps', ['-eo', 'pid,ppid,stat,etime,time,rss,args'], { encoding: 'utf8' })
        .split('\n')
        .filter((line, i) => i === 0 || /WebKit|MiniBrowser/.test(line))
        .join('\n');
    } catch (err) {
      // Diagnostics only: without ps (procps) the failure itself must still come through.
      return `(ps failed: ${String(err)})`;
    }
  };
  const first = sample();
  await new Promise((r) => setTimeout(r, 5_000));
  return `${first}\n5 s later:\n${sample()}`;
}

/** Stops the MiniBrowser of a session that no longer answers, so that WebKitWebDriver can start the next one. */
function killAutomationBrowsers(): void {
  try {
    execFileSync('pkill', ['-KILL', '-f', 'MiniBrowser --automation']);
  } catch {
    // none left
  }
}

async function poll<T>(read: () => Promise<T>, done: (v: T) => boolean, timeoutMs: number, what: () => Promise<string>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${await what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits for the page's data-ready="1" and data-busy="0"; a page that failed to start (data-ready="error") throws its status line. */
async function waitIdle(readState: () => Promise<string>, statusText: () => Promise<string>, timeoutMs: number): Promise<void> {
  const s = await poll(readState, (v) => v === '1/0' || v.startsWith('error'), timeoutMs, async () => `an idle page (state ${await readState()}, status "${await statusText()}")`);
  if (s.startsWith('error')) throw new Error(`the demo did not start: ${await statusText()}`);
}

export const test = base.extend<{ demo: DemoPage }>({
  // Depends only on `playwright` (it launches nothing itself), so the webkit project never starts Playwright's own WebKit.
  demo: async ({ playwright, browserName, launchOptions, channel, baseURL }, use, testInfo) => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    const name = testInfo.project.name;
    if (name !== 'webkit') {
      const browser = await playwright[browserName].launch({ ...launchOptions, channel });
      const page = await browser.newPage({ baseURL, viewport: { width: 1280, height: 1400 } });
      const errors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(String(e)));
      // During a navigation (Reset and reload) there is no page to ask: report that and ask again.
      const readState = () => page.evaluate(() => `${document.body.dataset.ready}/${document.body.dataset.busy}`).catch(() => 'navigating');
      const demo: DemoPage = {
        browser: name,
        errors,
        open: async () => void (await page.goto('/')),
        reload: async () => void (await page.reload()),
        click: (id) => page.click(`#${id}`),
        fill: (id, text) => page.fill(`#${id}`, text),
        select: async (id, value) => void (await page.selectOption(`#${id}`, value)),
        setStorage: (entries) => page.evaluate((e) => Object.entries(e).forEach(([k, v]) => localStorage.setItem(k, v)), entries),
        upload: (id, fileName, text) => page.setInputFiles(`#${id}`, { name: fileName, mimeType: 'text/plain', buffer: Buffer.from(text) }),
        text: (id) => page.locator(`#${id}`).innerText(),
        texts: (selector) => page.locator(selector).allInnerTexts(),
        disabled: (id) => page.locator(`#${id}`).isDisabled(),
        idle: (timeoutMs = IDLE_TIMEOUT_MS) => waitIdle(readState, () => page.locator('#status').innerText(), timeoutMs),
        screenshot: async (step) => void (await page.screenshot({ path: join(SCREENSHOTS, `${name}-${step}.png`), fullPage: true })),
      };
      try {
        await use(demo);
      } finally {
        await browser.close();
      }
      return;
    }
    const wd = await remote({
      hostname: '127.0.0.1',
      port: Number(process.env.WEBKIT_DRIVER_PORT ?? 4444),
      path: '/',
      logLevel: 'warn',
      connectionRetryTimeout: WEBKIT_REQUEST_TIMEOUT_MS,
      connectionRetryCount: 0,
      capabilities: {
        browserName: 'MiniBrowser',
        'wdio:enforceWebDriverClassic': true, // WebKitWebDriver 2.50 rejects webSocketUrl: true
        'webkitgtk:browserOptions': { binary: '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser', args: ['--automation'] },
      } as never,
    });
    const readState = () => (wd.execute(() => `${document.body?.dataset.ready}/${document.body?.dataset.busy}`) as Promise<string>).catch(() => 'navigating');
    const statusText = () => wd.execute(() => document.getElementById('status')?.textContent ?? '') as Promise<string>;
    const demo: DemoPage = {
      browser: name,
      errors: [],
      open: async () => {
        await wd.setWindowSize(1280, 1400).catch(() => undefined);
        await wd.url(new URL('/', baseURL).toString());
      },
      reload: () => wd.refresh(),
      click: async (id) => {
        const el = await wd.$(`#${id}`);
        await el.scrollIntoView();
        await el.click();
      },
      fill: async (id, text) => {
        await (await wd.$(`#${id}`)).setValue(text);
      },
      select: async (id, value) => {
        await (await wd.$(`#${id}`)).selectByAttribute('value', value);
      },
      setStorage: async (entries) => {
        await wd.execute((e: Record<string, string>) => Object.entries(e).forEach(([k, v]) => localStorage.setItem(k, v)), entries);
      },
      // WebKitWebDriver has no file chooser: hand the input a File the way a drop would, then fire its change event.
      upload: async (id, fileName, text) => {
        await wd.execute(
          (i: string, n: string, t: string) => {
            const input = document.getElementById(i) as HTMLInputElement;
            const files = new DataTransfer();
            files.items.add(new File([t], n, { type: 'text/plain' }));
            input.files = files.files;
            input.dispatchEvent(new Event('change', { bubbles: true }));
          },
          id,
          fileName,
          text,
        );
      },
      text: (id) => wd.execute((i: string) => (document.getElementById(i) as HTMLElement | null)?.innerText ?? '', id) as Promise<string>,
      texts: (selector) => wd.execute((s: string) => Array.from(document.querySelectorAll<HTMLElement>(s), (e) => e.innerText), selector) as Promise<string[]>,
      disabled: (id) => wd.execute((i: string) => (document.getElementById(i) as HTMLButtonElement).disabled, id) as Promise<boolean>,
      idle: (timeoutMs = IDLE_TIMEOUT_MS) => waitIdle(readState, statusText, timeoutMs),
      screenshot: async (step) => void (await wd.saveScreenshot(join(SCREENSHOTS, `${name}-${step}.png`))),
    };
    const started = Date.now();
    try {
      await use(demo);
    } finally {
      if (testInfo.status !== testInfo.expectedStatus) {
        console.log(`[webkit] failed after ${Math.round((Date.now() - started) / 1000)} s; WebKit processes:\n${await webkitProcesses()}`);
        // A page that stopped answering does not paint either: give the screenshot 15 s, not the full request time.
        const screenshot = wd.saveScreenshot(join(SCREENSHOTS, `${name}-failed.png`));
        const gaveUp = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer in 15 s')), 15_000).unref());
        await Promise.race([screenshot, gaveUp]).catch((err: unknown) => console.log(`[webkit] no screenshot of the failure: ${String(err)}`));
      }
      await wd.deleteSession().catch((err: unknown) => {
        console.log(`[webkit] the session did not close (${String(err)}); stopping its browser`);
        killAutomationBrowsers();
      });
    }
  },
});

export { expect } from '@playwright/test';
