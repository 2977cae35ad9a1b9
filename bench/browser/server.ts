/**
 * A Vite dev server for the benchmark page on 127.0.0.1, cross-origin isolated (COOP/COEP) as the
 * SDK's own browser tests are, so timers and SharedArrayBuffer behave as in an isolated app.
 * Inline config only: whatever vite.config a future demo adds at the root must not change it.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'vite';
import { freePort, onCleanup } from './processes.js';

const PAGE_DIR = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = resolve(PAGE_DIR, '..', '..');

export interface BenchServer {
  /** The page's URL, without a query. */
  readonly url: string;
  close(): Promise<void>;
}

export async function startBenchServer(): Promise<BenchServer> {
  const port = await freePort();
  const server = await createServer({
    configFile: false,
    root: PAGE_DIR,
    logLevel: 'warn',
    clearScreen: false,
    appType: 'mpa',
    // The page imports src/ and bench/thirdparty by relative path; everything else stays unreachable.
    server: {
      host: '127.0.0.1',
      port,
      strictPort: true,
      hmr: false,
      watch: null,
      fs: { strict: true, allow: [join(REPO_ROOT, 'src'), join(REPO_ROOT, 'bench')] },
      headers: {
        'Cross-Origin-Opener-Policy': 'same-origin',
        'Cross-Origin-Embedder-Policy': 'require-corp',
      },
    },
    // No bare imports to pre-bundle; discovery could also reload the page in the middle of a run.
    optimizeDeps: { noDiscovery: true, include: [] },
  });
  await server.listen();
  const close = onCleanup(() => server.close());
  return { url: `http://127.0.0.1:${port}/index.html`, close };
}
