/**
 * The core benchmark in a browser page: the same workloads and contenders as in Node (minus
 * node:crypto), on the page's main thread. bench/run.ts polls `window.__benchProgress` (lines
 * drained on each poll) and `window.__benchResult` (set once, when done or failed); polling keeps
 * every driver call short, which WebKitWebDriver needs.
 */
import { WASM_SHA256 } from '../../src/core/_wasm-bytes.js';
import { loadCore } from '../../src/core/index.js';
import { runCoreBench } from '../core-bench.js';
import { nobleContenders } from '../contenders/noble.js';
import { vecsealContender } from '../contenders/vecseal.js';
import { webCryptoContenders } from '../contenders/webcrypto.js';
import { fillRandom, PRESETS, type PresetName } from '../workloads.js';
import type { PageResult } from './poll.js';

declare global {
  interface Window {
    __benchProgress: string[];
    __benchResult?: PageResult;
  }
}

const logElement = document.getElementById('log');
window.__benchProgress = [];

function log(line: string): void {
  window.__benchProgress.push(line);
  if (logElement) logElement.textContent += `${line}\n`;
}

function presetName(): PresetName {
  const asked = new URLSearchParams(location.search).get('preset') ?? 'full';
  if (asked === 'full' || asked === 'moderate' || asked === 'quick') return asked;
  throw new Error(`unknown preset "${asked}"; expected full, moderate or quick`);
}

async function main(): Promise<void> {
  try {
    const core = await loadCore();
    const run = await runCoreBench(
      {
        core,
        contenders: [vecsealContender(core), ...webCryptoContenders(crypto.subtle), ...(await nobleContenders())],
        fill: fillRandom((b) => crypto.getRandomValues(b)),
        coreBuild: WASM_SHA256,
        now: () => performance.now(),
        yieldToHost: () => new Promise((resolve) => setTimeout(resolve, 0)),
        log,
      },
      PRESETS[presetName()],
    );
    window.__benchResult = { ok: true, run, userAgent: navigator.userAgent, crossOriginIsolated };
  } catch (err) {
    const error = err instanceof Error ? `${err.name}: ${err.message}\n${err.stack ?? ''}` : String(err);
    log(`failed: ${error}`);
    window.__benchResult = { ok: false, error, userAgent: navigator.userAgent };
  }
}

void main();
