/**
 * The core benchmark in Node, in this process: vecseal, WebCrypto (globalThis.crypto.subtle),
 * node:crypto and the noble libraries on the main thread. Used by `npm run bench` and `npm start`.
 */
import { cpus, totalmem, release, arch, platform } from 'node:os';
import { webcrypto } from 'node:crypto';
import { loadCore } from '../src/core/index.js';
import { runCoreBench } from './core-bench.js';
import type { Contender } from './contenders/contender.js';
import { nodeCryptoContender } from './contenders/node-crypto.js';
import { vecsealContender } from './contenders/vecseal.js';
import { webCryptoContenders } from './contenders/webcrypto.js';
import type { MachineInfo, RuntimeInfo, RuntimeReport } from './report.js';
import { ensureThirdParty } from './thirdparty-install.js';
import { fillRandom, PRESETS, type PresetName } from './workloads.js';

export function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    cpu: list[0]?.model.trim() ?? 'unknown CPU',
    logicalCores: list.length,
    memoryGiB: totalmem() / 2 ** 30,
    os: `${platform()} ${release()} (${arch()})`,
  };
}

export function nodeRuntimeInfo(): RuntimeInfo {
  return { id: 'node', name: `Node ${process.version}`, userAgent: null, detail: `V8 ${process.versions.v8}, tsx` };
}

/** Runs the preset in Node; a failure (cross-validation included) is returned as the report's error. */
export async function runNodeBench(presetName: PresetName, log: (line: string) => void): Promise<RuntimeReport> {
  const runtime = nodeRuntimeInfo();
  try {
    ensureThirdParty(log);
    // Loaded only now: the import fails until bench/thirdparty is installed.
    const { nobleContender, nobleHashesContender } = await import('./contenders/noble.js');
    const core = await loadCore();
    const contenders: Contender[] = [
      vecsealContender(core),
      ...webCryptoContenders(webcrypto.subtle as unknown as SubtleCrypto),
      nodeCryptoContender(),
      nobleContender(),
      nobleHashesContender(),
    ];
    const run = await runCoreBench(
      {
        core,
        contenders,
        fill: fillRandom((b) => webcrypto.getRandomValues(b)),
        now: () => performance.now(),
        yieldToHost: () => new Promise((resolve) => setImmediate(resolve)),
        log: (line) => log(`[node] ${line}`),
      },
      PRESETS[presetName],
    );
    return { runtime, run, error: null };
  } catch (err) {
    return { runtime, run: null, error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
  }
}
