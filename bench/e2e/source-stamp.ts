/**
 * A digest of every file under src/, taken when a run starts and again when it ends. Others edit
 * src/ while benchmarks run; browsers and workers load the sources when they start, so a run that
 * spans an edit measures a mix of versions (and may fail its cross-checks). run.ts refuses to write
 * results from such a run.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : []))
    .sort();
}

/** sha256 over the paths and contents of every file under `dir`. */
export function sourceDigest(dir: string): string {
  const hash = createHash('sha256');
  for (const f of files(dir)) {
    hash.update(relative(dir, f));
    hash.update('\0');
    hash.update(readFileSync(f));
    hash.update('\0');
  }
  return hash.digest('hex');
}
