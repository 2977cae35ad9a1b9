/**
 * A Vite dev server for the benchmark page on 127.0.0.1, cross-origin isolated (COOP/COEP) as the
 * SDK's own browser tests are, so timers and SharedArrayBuffer behave as in an isolated app.
 * Inline config only: whatever vite.config a future demo adds at the root must not change it.
 */
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer, type Plugin } from 'vite';
import { freePort, onCleanup } from './processes.js';

const PAGE_DIR = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = resolve(PAGE_DIR, '..', '..');
/** Where comlink (imported by the SDK's worker code) is installed; resolved, since a snapshot run (bench/e2e/snapshot.ts) has no node_modules of its own. */
const COMLINK_DIR = dirname(createRequire(import.meta.url).resolve('comlink/package.json'));

/**
 * Drops conditional request headers, so every response is a full 200 with the COOP/COEP headers.
 * In a cross-origin-isolated page, WebKitGTK 2.50 revalidates a module worker's script when it
 * starts a second worker on it, and Vite's dev server answers 304 Not Modified *without* the
 * configured headers; WebKit then refuses the worker (no Cross-Origin-Embedder-Policy) and it dies
 * with a load error. The first worker, non-isolated pages and the other browsers are fine; a plain
 * server whose 304 carries COEP is fine too. The SDK's pool starts every worker from the same
 * script, so the end-to-end page needs this.
 */
function alwaysFullResponses(): Plugin {
  return {
    name: 'vecseal-bench-no-304',
    configureServer(server) {
      server.middlewares.use((req, _res, next) => {
        delete req.headers['if-none-match'];
        delete req.headers['if-modified-since'];
        next();
      });
    },
  };
}

export interface BenchServer {
  /** The page's URL, without a query. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * @param page the HTML page under bench/browser/ the returned URL names (index.html: the core
 *   benchmark; e2e.html: the end-to-end one)
 */
export async function startBenchServer(page = 'index.html'): Promise<BenchServer> {
  const port = await freePort();
  const server = await createServer({
    configFile: false,
    root: PAGE_DIR,
    logLevel: 'warn',
    clearScreen: false,
    appType: 'mpa',
    // The pages import src/ and bench/thirdparty by relative path, and the SDK's worker code imports
    // comlink; everything else stays unreachable.
    server: {
      host: '127.0.0.1',
      port,
      strictPort: true,
      hmr: false,
      watch: null,
      fs: { strict: true, allow: [join(REPO_ROOT, 'src'), join(REPO_ROOT, 'bench'), COMLINK_DIR] },
      headers: {
        'Cross-Origin-Opener-Policy': 'same-origin',
        'Cross-Origin-Embedder-Policy': 'require-corp',
      },
    },
    // No bare imports to pre-bundle; discovery could also reload the page in the middle of a run.
    optimizeDeps: { noDiscovery: true, include: [] },
    plugins: [alwaysFullResponses()],
  });
  await server.listen();
  const close = onCleanup(() => server.close());
  return { url: `http://127.0.0.1:${port}/${page}`, close };
}
