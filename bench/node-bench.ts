/**
 * The core benchmark in Node, in this process: vecseal, WebCrypto (Node's globalThis.crypto.subtle),
 * node:crypto and the noble libraries on the main thread. Used by `npm run bench` and `npm start`.
 */
import { readFileSync } from 'node:fs';
import { arch, cpus, platform, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { WASM_SHA256 } from '../src/core/_wasm-bytes.js';
import { loadCore } from '../src/core/index.js';
import { runCoreBench } from './core-bench.js';
import type { Contender } from './contenders/contender.js';
import { nobleContenders } from './contenders/noble.js';
import { nodeCryptoContender } from './contenders/node-crypto.js';
import { vecsealContender } from './contenders/vecseal.js';
import { webCryptoContenders } from './contenders/webcrypto.js';
import type { MachineInfo, RuntimeInfo, RuntimeReport } from './report.js';
import { ensureThirdParty, THIRDPARTY_DIR } from './thirdparty-install.js';
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

/** The installed peers' versions, as measured. */
export function libraryVersions(): string[] {
  const versions = ['@noble/ciphers', '@noble/hashes'].map((name) => {
    try {
      const pkg = JSON.parse(readFileSync(join(THIRDPARTY_DIR, 'node_modules', name, 'package.json'), 'utf8')) as { version?: string };
      return `${name} ${pkg.version ?? '?'} (bench/thirdparty)`;
    } catch {
      return `${name} not installed`;
    }
  });
  return versions;
}

export function nodeRuntimeInfo(): RuntimeInfo {
  return { id: 'node', name: `Node ${process.version}`, userAgent: null, detail: `V8 ${process.versions.v8}, tsx` };
}

/** Runs the preset in Node; a failure (cross-validation included) is returned as the report's error. */
export async function runNodeBench(presetName: PresetName, log: (line: string) => void): Promise<RuntimeReport> {
  const runtime = nodeRuntimeInfo();
  try {
    ensureThirdParty(log);
    const core = await loadCore();
    const contenders: Contender[] = [
      vecsealContender(core),
      ...webCryptoContenders(crypto.subtle),
      nodeCryptoContender(),
      ...(await nobleContenders()),
    ];
    const run = await runCoreBench(
      {
        core,
        contenders,
        fill: fillRandom((b) => crypto.getRandomValues(b)),
        coreBuild: WASM_SHA256,
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
