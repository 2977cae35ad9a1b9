/**
 * The browser demo (`npm run demo`): Vite serves demo/ and compiles the SDK straight from ../src,
 * so the page runs the same code the tests do. Workers come from the SDK's own
 * `new Worker(new URL(...))`, which Vite bundles as module workers.
 *
 * No cross-origin isolation headers: the SDK transfers buffers to its workers and needs no
 * SharedArrayBuffer, and WebKitGTK refuses module workers whose 304 revalidation lacks COEP
 * (README, Workers).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = fileURLToPath(new URL('..', import.meta.url));

export default defineConfig({
  root: here,
  server: { host: '127.0.0.1', port: Number(process.env.DEMO_PORT ?? 5173), strictPort: true, fs: { allow: [root] } },
  preview: { host: '127.0.0.1', port: Number(process.env.DEMO_PORT ?? 4173), strictPort: true },
  // PGlite loads its .wasm and data files relative to its own module: keep it out of pre-bundling.
  // comlink is imported only by the worker: name it, or the dev server finds it late and reloads the page.
  optimizeDeps: { include: ['comlink', 'idb'], exclude: ['@electric-sql/pglite'] },
  worker: { format: 'es' },
  build: { target: 'es2022', outDir: fileURLToPath(new URL('../dist-demo', import.meta.url)), emptyOutDir: true },
});
