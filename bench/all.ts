/**
 * `npm run bench`: the core benchmark (bench/run.ts), the end-to-end benchmark (bench/e2e/run.ts)
 * and the key-provider benchmark (bench/kms/run.ts, Node only), each in its own process with the
 * same flags (--quick, --node-only, --browsers=...; the provider benchmark takes --quick only).
 * Exits non-zero if any failed; each runs even when an earlier one failed.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log('usage: npm run bench -- [--quick] [--node-only | --browsers=chromium,firefox,webkit] [--snapshot]\n(runs bench:core, bench:e2e and bench:kms with these flags; --snapshot applies to bench:e2e only, bench:kms takes --quick only)');
  process.exit(0);
}

let failed = false;
for (const entry of [join(HERE, 'run.ts'), join(HERE, 'e2e', 'run.ts'), join(HERE, 'kms', 'run.ts'), join(HERE, 'lifecycle', 'run.ts')]) {
  // --snapshot is the end-to-end benchmark's (see e2e/snapshot.ts); the core one runs in seconds per runtime.
  const own = entry.endsWith(join('e2e', 'run.ts'))
    ? args
    : entry.endsWith(join('kms', 'run.ts')) || entry.endsWith(join('lifecycle', 'run.ts'))
      ? args.filter((a) => a === '--quick')
      : args.filter((a) => a !== '--snapshot');
  console.log(`\n=== ${entry.slice(HERE.length + 1)} ${own.join(' ')}\n`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', entry, ...own], { stdio: 'inherit' });
  if (result.status !== 0) {
    failed = true;
    console.error(`${entry} exited with ${result.status ?? result.signal}`);
  }
}
process.exit(failed ? 1 : 0);
