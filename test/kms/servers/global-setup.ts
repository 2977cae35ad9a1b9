/**
 * Vitest global setup (every project, Node side): starts each local protocol server in this folder
 * (files named *.server.ts exporting startForTests) on 127.0.0.1 and hands their URLs to the tests
 * with provide(), so the same provider suites run in Node and in the browsers. Stops them after
 * the run.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { TestProject } from 'vitest/node';

/** What a *.server.ts module exports. */
export interface ServerForTests {
  /** Values for inject() (URLs, test credentials), keyed by names declared in ProvidedContext. */
  provide: Record<string, string>;
  close(): Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started: ServerForTests[] = [];
  const files = readdirSync(here).filter((f) => f.endsWith('.server.ts')).sort();
  try {
    for (const file of files) {
      // Found by listing the folder, so Vite cannot (and need not) analyse this import.
      const mod = (await import(/* @vite-ignore */ pathToFileURL(join(here, file)).href)) as { startForTests?: () => Promise<ServerForTests> };
      if (typeof mod.startForTests !== 'function') throw new Error(`${file} does not export startForTests()`);
      const server = await mod.startForTests();
      started.push(server);
      for (const [key, value] of Object.entries(server.provide)) project.provide(key as never, value as never);
    }
  } catch (err) {
    await Promise.all(started.map((s) => s.close()));
    throw err;
  }
  return async () => {
    await Promise.all(started.map((s) => s.close()));
  };
}
