/**
 * The end-to-end benchmark in a browser page: vecseal's public API (its workers are module workers
 * started from src/worker/spawn.ts, which Vite serves from the TypeScript sources) against the
 * WebCrypto loops, then the stream. bench/e2e/run.ts polls `window.__benchProgress` and
 * `window.__benchResult` as the core benchmark's driver does (poll.ts).
 */
import { runE2eBench, type E2eRun } from '../e2e/bench.js';
import { runStream, type MemoryProbe } from '../e2e/stream.js';
import { E2E_PRESETS, isPresetName, type E2ePresetName } from '../e2e/workloads.js';
import type { PageResult } from './poll.js';

interface BenchWindow {
  __benchProgress: string[];
  __benchResult?: PageResult<E2eRun>;
}

const w = window as unknown as BenchWindow;
const logElement = document.getElementById('log');
w.__benchProgress = [];

function log(line: string): void {
  w.__benchProgress.push(line);
  if (logElement) logElement.textContent += `${line}\n`;
}

function presetName(): E2ePresetName {
  const asked = new URLSearchParams(location.search).get('preset') ?? 'full';
  if (isPresetName(asked)) return asked;
  throw new Error(`unknown preset "${asked}"; expected full or quick`);
}

interface ChromiumMemory {
  usedJSHeapSize: number;
}

/** Chromium's page heap counter (precise with --enable-precise-memory-info); null elsewhere. */
function heapProbe(): MemoryProbe | null {
  const read = (): number | undefined => (performance as unknown as { memory?: ChromiumMemory }).memory?.usedJSHeapSize;
  if (typeof read() !== 'number') return null;
  return {
    kind: 'page usedJSHeapSize',
    current: () => read()!,
    startPeak() {
      let peak = read()!;
      let samples = 0;
      const timer = setInterval(() => {
        peak = Math.max(peak, read()!);
        samples++;
      }, 50);
      return async () => {
        clearInterval(timer);
        return { peakBytes: Math.max(peak, read()!), samples };
      };
    },
  };
}

async function main(): Promise<void> {
  try {
    const yieldToHost = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
    const now = () => performance.now();
    const probe = heapProbe();
    const run = await runE2eBench(
      {
        subtle: crypto.subtle,
        backends: ['wasm', 'webcrypto'],
        matrixWorkers: [0],
        extraContenders: () => [],
        now,
        yieldToHost,
        log,
        async stream(preset, newClient) {
          const client = await newClient();
          try {
            const memoryNote = probe ? 'page heap only: workers and ArrayBuffer backing stores are not counted' : 'this browser exposes no heap counter';
            return await runStream({ client, probe, memoryNote, now, yieldToHost, log }, preset);
          } finally {
            await client.close();
          }
        },
      },
      E2E_PRESETS[presetName()],
    );
    w.__benchResult = { ok: true, run, userAgent: navigator.userAgent, crossOriginIsolated };
  } catch (err) {
    const error = err instanceof Error ? `${err.name}: ${err.message}\n${err.stack ?? ''}` : String(err);
    log(`failed: ${error}`);
    w.__benchResult = { ok: false, error, userAgent: navigator.userAgent };
  }
}

void main();
