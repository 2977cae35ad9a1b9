/**
 * Results of finished batches are not kept alive: 30 batches of 12.8 MB through a worker leave at most
 * a few batches' worth of buffers after a GC. (A Promise.race against the pool's long-lived "worker
 * stopped" promise once kept every result: ~370 MB here.) Runs in a child process with --expose-gc.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

describe('worker pool memory', () => {
  it('does not keep the results of finished batches', async () => {
    const script = fileURLToPath(new URL('./_memory-check.ts', import.meta.url));
    const out = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--expose-gc', '--import', 'tsx', script], { timeout: 90_000 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${err.message}\n${stderr}`));
        else resolve(stdout);
      });
    });
    const { growthBytes, batchBytes } = JSON.parse(out.trim().split('\n').at(-1)!) as { growthBytes: number; batchBytes: number };
    expect(growthBytes).toBeLessThan(3 * batchBytes);
  });
});
