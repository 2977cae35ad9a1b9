/**
 * `npm run bench:e2e -- --snapshot`: runs the end-to-end benchmark on a copy of src/ and bench/
 * taken when it starts (in <repo>/.bench-snapshot/, removed afterwards), so that edits made to the
 * working tree during the quarter-hour run cannot mix SDK versions across runtimes. Results are
 * written back to the real bench/.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCH_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const REPO_ROOT = resolve(BENCH_DIR, '..');
export const SNAPSHOT_DIR = join(REPO_ROOT, '.bench-snapshot');
/** A file in the snapshot's root naming what it copies; run.ts reads it to say so in the report. */
export const SNAPSHOT_MARK = 'SNAPSHOT-OF';

/** True when this code runs from a snapshot. */
export function runningFromSnapshot(): boolean {
  return existsSync(join(REPO_ROOT, SNAPSHOT_MARK));
}

/** Copies src/ and bench/ (without bench/thirdparty), runs e2e/run.ts there with `args`, and removes the copy. */
export async function runFromSnapshot(args: readonly string[]): Promise<number> {
  rmSync(SNAPSHOT_DIR, { recursive: true, force: true });
  cpSync(join(REPO_ROOT, 'src'), join(SNAPSHOT_DIR, 'src'), { recursive: true });
  const thirdparty = join(BENCH_DIR, 'thirdparty');
  cpSync(BENCH_DIR, join(SNAPSHOT_DIR, 'bench'), { recursive: true, filter: (from) => from !== thirdparty && !from.startsWith(thirdparty + sep) });
  writeFileSync(join(SNAPSHOT_DIR, SNAPSHOT_MARK), `${REPO_ROOT}\n`);
  console.log(`measuring a snapshot of src/ and bench/ in ${SNAPSHOT_DIR}`);
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', join(SNAPSHOT_DIR, 'bench', 'e2e', 'run.ts'), ...args, `--results-dir=${BENCH_DIR}`], {
      cwd: REPO_ROOT,
      stdio: 'inherit',
    });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    const code = await new Promise<number>((ok) => child.once('exit', (c, s) => ok(c ?? (s ? 130 : 1))));
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
    return code;
  } finally {
    rmSync(SNAPSHOT_DIR, { recursive: true, force: true });
  }
}
