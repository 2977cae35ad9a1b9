/**
 * Installs bench/thirdparty (the peers' packages the benchmark compares against) from its own
 * lockfile when its node_modules is missing. They stay out of the main lockfile so that
 * `npm install vecseal` never pulls a competitor, and `npm ci` keeps the versions the results name.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const THIRDPARTY_DIR = join(dirname(fileURLToPath(import.meta.url)), 'thirdparty');

const PROBES = ['@noble/ciphers/package.json', '@noble/hashes/package.json'];

/** @throws Error if npm ci fails (offline without a cache, for example) */
export function ensureThirdParty(log: (line: string) => void = console.log): void {
  const modules = join(THIRDPARTY_DIR, 'node_modules');
  if (PROBES.every((p) => existsSync(join(modules, p)))) return;
  log('installing bench/thirdparty (npm ci --prefix bench/thirdparty)…');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['ci', '--prefix', THIRDPARTY_DIR, '--no-audit', '--no-fund', '--loglevel=error'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (result.status !== 0) {
    throw new Error(`npm ci --prefix bench/thirdparty failed (exit ${result.status ?? result.signal}); the noble baselines need it`);
  }
}
