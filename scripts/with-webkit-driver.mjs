#!/usr/bin/env node
/**
 * Runs a command with WebKitWebDriver listening on 127.0.0.1 (under Xvfb, which WebKitGTK needs),
 * then stops the driver and its Xvfb whatever the command's outcome. The port is free-picked and
 * passed on as WEBKIT_DRIVER_PORT (vitest.config.ts reads it).
 *
 *   node scripts/with-webkit-driver.mjs vitest run --project webkit
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync } from 'node:fs';

const args = process.argv.slice(2);
if (args.length === 0) {
  console.error('usage: with-webkit-driver.mjs <command> [args...]');
  process.exit(2);
}
for (const bin of ['/usr/bin/WebKitWebDriver', '/usr/bin/xvfb-run']) {
  if (!existsSync(bin)) {
    console.error(`${bin} is missing: apt-get install webkit2gtk-driver xvfb xauth (see .ci/run)`);
    process.exit(1);
  }
}

const port = await freePort();
// -a picks a free display; JSC_useSharedArrayBuffer enables SharedArrayBuffer in WebKitGTK.
const driver = spawn('xvfb-run', ['-a', '-s', '-screen 0 1280x1024x24', 'env', 'JSC_useSharedArrayBuffer=1', 'WebKitWebDriver', `--port=${port}`, '--host=127.0.0.1'], {
  stdio: ['ignore', 'ignore', 'inherit'],
  detached: true, // own process group, so xvfb-run, Xvfb and the driver stop together
});
let exiting = false;
const stopDriver = () => {
  if (exiting) return;
  exiting = true;
  try {
    process.kill(-driver.pid, 'SIGTERM');
  } catch {}
};
process.on('SIGINT', () => { stopDriver(); process.exit(130); });
process.on('SIGTERM', () => { stopDriver(); process.exit(143); });

try {
  await waitForStatus(port, 30_000);
} catch (err) {
  console.error(String(err));
  stopDriver();
  process.exit(1);
}

const [cmd, ...rest] = args;
const child = spawn(cmd === 'vitest' ? 'npx' : cmd, cmd === 'vitest' ? ['vitest', ...rest] : rest, {
  stdio: 'inherit',
  env: { ...process.env, WEBKIT_DRIVER_PORT: String(port) },
});
child.on('exit', (code, signal) => {
  stopDriver();
  process.exit(code ?? (signal ? 1 : 0));
});

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitForStatus(p, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://127.0.0.1:${p}/status`);
      if (res.ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`WebKitWebDriver did not answer on 127.0.0.1:${p} within ${timeoutMs} ms`);
}
