/**
 * `npm start` end to end, as a newcomer runs it: the real script in a child process (tsx), on a
 * fresh data folder and then again on the same folder (idempotent: the KEK ring moves on, the
 * shredded tenant stays shredded and sealing for it is refused), against a real PostgreSQL 15
 * server (--pg), with the KEK in a SoftHSM2 token (--provider pkcs11), and the failures a user
 * can meet: bad options, an unreachable server, a damaged KEK file, a folder of another provider.
 * Every output is scanned for the key material the data folder holds.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSoftHsmToken, type SoftHsmToken } from '../kms/_softhsm.js';
import { startPostgres, type PostgresServer } from '../store/_postgres-server.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const RUN_TIMEOUT_MS = 180_000;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function start(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'scripts/start.ts'), ...args],
      { cwd: ROOT, env: { ...process.env, ...env }, timeout: RUN_TIMEOUT_MS, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** The base64 key bytes of every KEK file and the signer's private key: they must never be printed. */
async function secretsIn(dir: string): Promise<string[]> {
  const secrets: string[] = [];
  const kekDir = join(dir, 'kek');
  for (const name of await readdir(kekDir).catch(() => [] as string[])) {
    const text = await readFile(join(kekDir, name), 'utf8');
    for (const m of text.matchAll(/"([A-Za-z0-9+/=_-]{40,})"/g)) secrets.push(m[1]!);
  }
  const signer = await readFile(join(dir, 'audit-signer.json'), 'utf8').catch(() => '');
  for (const m of signer.matchAll(/"d"\s*:\s*"([^"]+)"/g)) secrets.push(m[1]!);
  return secrets;
}

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'vecseal-start-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('npm start', () => {
  it('runs every step on a new data folder, then again on the same folder', async () => {
    const data = join(work, 'default');
    const first = await start(['--data', data]);
    expect(first.code, first.stderr).toBe(0);
    const out = first.stdout;
    expect(out).toContain('run 1 on data folder');
    expect(out).toMatch(/acme: sealed 10,000 words/);
    expect(out).toMatch(/globex: sealed 2,000 words/);
    expect(out).toContain('12,000 rows');
    expect(out).toMatch(/OK no word of \d\+ letters .* appears in the .* stored/);
    expect(out).toMatch(/king - man \+ woman +-> queen/);
    expect(out).toMatch(/paris - france \+ germany +-> berlin/);
    expect(out).toContain('rotateKek: 2 DEK version(s) re-wrapped');
    expect(out).toContain('KEK kek-1 retired');
    expect(out).toMatch(/2,000 globex rows fail with KeyDestroyedError/);
    expect(out).toMatch(/OK verifyAudit: \d+ entries/);
    expect(out).toMatch(/ratio vecseal \/ WebCrypto: seal [\d.]+x, open [\d.]+x/);
    const receipt = JSON.parse(await readFile(join(data, 'receipts', 'globex.json'), 'utf8'));
    expect(receipt.verified).toBe(true);
    expect(receipt.signature).toBeTypeOf('string');
    const secrets = await secretsIn(data);
    expect(secrets.length).toBeGreaterThan(0);

    const second = await start(['--data', data]);
    expect(second.code, second.stderr).toBe(0);
    const again = second.stdout;
    expect(again).toContain('run 2 on data folder');
    expect(again).toContain('acme: 10,000 rows already stored: reused');
    expect(again).toContain('globex: shredded on an earlier run');
    expect(again).toContain('encryptRecords for globex is refused: KeyDestroyedError');
    expect(again).toContain('KEK kek-3: created');
    expect(again).toContain('rotateKek: 1 DEK version(s) re-wrapped');
    expect(again).toContain('globex was shredded on an earlier run');
    expect(again).toMatch(/king - man \+ woman +-> queen/);
    expect(again).toMatch(/OK verifyAudit: \d+ entries/);
    for (const s of [...secrets, ...(await secretsIn(data))]) {
      for (const text of [first.stdout, first.stderr, second.stdout, second.stderr]) expect(text.includes(s), 'key material in the output').toBe(false);
    }
  });

  it('--help prints the options; a bad option is one clear line and status 2', async () => {
    const help = await start(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--pg <connection>');
    expect(help.stdout).toContain('--provider <name>');
    const bad = await start(['--colour']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe('npm start: unknown option "--colour" (see --help)');
    const provider = await start(['--provider', 'aws']);
    expect(provider.code).toBe(2);
    expect(provider.stderr).toContain('--provider must be webcrypto or pkcs11');
  });

  it('fails with one clear line, no stack, for an unreachable server, a damaged KEK file and a folder of another provider', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const data = join(work, 'failures');
    const down = await start(['--data', data, '--pg', `postgres://nobody:secret-pw@127.0.0.1:${port}/postgres`]);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/npm start failed: cannot connect to PostgreSQL at .*127\.0\.0\.1:\d+.*ECONNREFUSED/);
    expect(down.stderr).not.toContain('secret-pw');
    expect(down.stderr).not.toMatch(/\n\s+at /); // no stack without --debug

    const fresh = join(work, 'damaged');
    const ok = await start(['--data', fresh]);
    expect(ok.code, ok.stderr).toBe(0);
    const kekFile = (await readdir(join(fresh, 'kek'))).find((n) => n.endsWith('.json'))!;
    const text = await readFile(join(fresh, 'kek', kekFile), 'utf8');
    const secrets = await secretsIn(fresh);
    await writeFile(join(fresh, 'kek', kekFile), text.replace(/"([A-Za-z0-9+/]{40,}=*)"/, (_m, b64: string) => `"${b64[0] === 'A' ? 'B' : 'A'}${b64.slice(1)}"`));
    const damaged = await start(['--data', fresh]);
    expect(damaged.code).toBe(1);
    expect(damaged.stderr).toMatch(/the KEK file .* is corrupted/);
    for (const s of secrets) expect(damaged.stderr.includes(s) || damaged.stdout.includes(s)).toBe(false);

    const other = await start(['--data', fresh, '--provider', 'pkcs11']);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain('was made with --provider webcrypto');
  });

  describe('on a real PostgreSQL 15 server (--pg)', () => {
    let server: PostgresServer;
    beforeAll(async () => {
      server = await startPostgres();
    }, 60_000);
    afterAll(async () => {
      await server?.stop();
    });

    it('keeps the sealed rows in the server; a second run reuses them', async () => {
      const url = `postgres://${server.user}@${server.host}:${server.port}/${server.database}`;
      const data = join(work, 'pg');
      const first = await start(['--data', data, '--pg', url]);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toContain('seal into PostgreSQL');
      expect(first.stdout).toMatch(/king - man \+ woman +-> queen/);
      expect(first.stdout).toMatch(/2,000 globex rows fail with KeyDestroyedError/);
      const second = await start(['--data', data, '--pg', url]);
      expect(second.code, second.stderr).toBe(0);
      expect(second.stdout).toContain('acme: 10,000 rows already stored: reused');
      // Another data folder may not take over this table: its KEKs could not open the rows.
      const stranger = await start(['--data', join(work, 'pg-other'), '--pg', url]);
      expect(stranger.code).toBe(1);
      expect(stranger.stderr).toContain('was filled from another data folder');
    });
  });

  describe('with the KEK in a SoftHSM2 token (--provider pkcs11)', () => {
    let token: SoftHsmToken;
    beforeAll(async () => {
      token = await createSoftHsmToken();
    });
    afterAll(async () => {
      await token?.remove();
    });

    it('generates the KEK inside the token, rotates it there, and runs again', async () => {
      const data = join(work, 'pkcs11');
      const env = { SOFTHSM2_CONF: process.env.SOFTHSM2_CONF, VECSEAL_PKCS11_PIN: token.userPin };
      const args = ['--data', data, '--provider', 'pkcs11', '--pkcs11-token', token.tokenLabel];
      const first = await start(args, env);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toMatch(/KEK kek-1: created .*PKCS#11/i);
      expect(first.stdout).toMatch(/king - man \+ woman +-> queen/);
      expect(first.stdout).toMatch(/2,000 globex rows fail with KeyDestroyedError/);
      const second = await start(args, env);
      expect(second.code, second.stderr).toBe(0);
      expect(second.stdout).toContain('run 2 on data folder');
      for (const text of [first.stdout, first.stderr, second.stdout, second.stderr]) expect(text).not.toContain(token.userPin);
      const noPin = await start(args, { SOFTHSM2_CONF: process.env.SOFTHSM2_CONF, VECSEAL_PKCS11_PIN: '' });
      expect(noPin.code).toBe(1);
      expect(noPin.stderr).toContain('VECSEAL_PKCS11_PIN');
    });
  });
});
