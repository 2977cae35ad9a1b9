/**
 * The end-to-end benchmark in Node: the workloads in this process (vecseal, Node's WebCrypto and
 * node:crypto), the stream in a fresh child process (node-stream.ts) for a clean memory baseline.
 */
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeRuntimeInfo } from '../node-bench.js';
import { onCleanup, withTimeout } from '../browser/processes.js';
import { runE2eBench } from './bench.js';
import { nodeCryptoContender } from './node-crypto.js';
import { STREAM_RESULT_MARK } from './node-memory.js';
import type { E2eRuntimeReport } from './report.js';
import type { StreamResult } from './stream.js';
import { E2E_PRESETS, type E2ePreset, type E2ePresetName } from './workloads.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = resolve(HERE, '..', '..');
const STREAM_TIMEOUT_MS = 600_000;

/** Runs node-stream.ts in a child Node process (through tsx) and returns its result. */
function streamInChild(preset: E2ePreset, log: (line: string) => void): Promise<StreamResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(HERE, 'node-stream.ts'), preset.name], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stop = onCleanup(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let result: StreamResult | undefined;
  let stderr = '';
  let pending = '';
  child.stdout.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (line.startsWith(STREAM_RESULT_MARK)) result = JSON.parse(line.slice(STREAM_RESULT_MARK.length)) as StreamResult;
      else if (line.trim() !== '') log(line);
    }
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-8000);
  });
  const done = new Promise<StreamResult>((ok, fail) => {
    child.once('error', fail);
    child.once('exit', (code, signal) => {
      if (code === 0 && result) ok(result);
      else fail(new Error(`the stream process exited (${code ?? signal}): ${stderr.trim() || 'no result'}`));
    });
  });
  return withTimeout(done, STREAM_TIMEOUT_MS, 'the Node stream process').finally(stop);
}

export async function runNodeE2e(presetName: E2ePresetName, log: (line: string) => void): Promise<E2eRuntimeReport> {
  const runtime = nodeRuntimeInfo();
  const prefixed = (line: string) => log(`[node] ${line}`);
  try {
    const run = await runE2eBench(
      {
        subtle: crypto.subtle,
        backends: ['wasm', 'webcrypto', 'node'],
        matrixWorkers: [0],
        extraContenders: () => [nodeCryptoContender()],
        now: () => performance.now(),
        yieldToHost: () => new Promise((resolve) => setImmediate(resolve)),
        log: prefixed,
        stream: (preset) => streamInChild(preset, (line) => prefixed(`(stream process) ${line}`)),
      },
      E2E_PRESETS[presetName],
    );
    return { runtime, run, error: null };
  } catch (err) {
    return { runtime, run: null, error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
  }
}
