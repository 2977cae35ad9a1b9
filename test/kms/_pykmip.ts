/**
 * Starts the Debian PyKMIP server (python3-pykmip 0.10, run by /usr/bin/python3 only) for one test
 * file: a private CA, a server certificate for 127.0.0.1 and a client certificate (EC P-256, made with
 * the openssl CLI), a server.conf with the TLS 1.2 authentication suite and client-certificate
 * checks, a SQLite database and a log in a temporary directory, on a free 127.0.0.1 port.
 *
 * PyKMIP 0.10 settings that matter on Debian's OpenSSL 3: auth_suite=TLS1.2 (its Basic suite is TLS
 * 1.0, which OpenSSL 3 refuses), tls_cipher_suites naming an ECDHE-ECDSA AES-GCM suite (its TLS 1.2
 * default list has no ECDHE-RSA AEAD suite, hence the EC certificates), enable_tls_client_auth=True
 * (the client certificate must carry the clientAuth extended key usage) and logging_level=INFO
 * (DEBUG would log every request in hex, DEKs included).
 *
 * Bounded in time: start() gives up after `startTimeoutMs` with the server log's tail; stop() closes
 * the server's stdin, on which a watcher thread kills the server's process group, and kills the group
 * itself if the process is still there after 8 s. The same watcher ends the server if the test
 * process dies.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';

const PYTHON = '/usr/bin/python3';
const STOP_GRACE_MS = 8_000;

/**
 * Runs the server; when stdin closes (the test is stopping it, or the test process died) it kills its
 * own process group: the server and PyKMIP's multiprocessing helpers. Its database is temporary, so
 * nothing is lost. The watcher reads fd 0 directly: a thread blocked in sys.stdin would hold the
 * buffer's lock across multiprocessing's fork and deadlock the child that closes stdin.
 */
const LAUNCHER = `
import os, signal, threading
def _watch():
    while os.read(0, 4096):
        pass
    os.killpg(0, signal.SIGKILL)
threading.Thread(target=_watch, daemon=True).start()
from kmip.services.server import server
server.main()
`;

export interface ClientTls {
  ca: string;
  cert: string;
  key: string;
}

export interface PyKmipServer {
  host: string;
  port: number;
  /** Trusts the server; authenticates as the test client. */
  clientTls: ClientTls;
  /** A client certificate and key issued by another CA (the server must refuse it). */
  foreignClientTls: ClientTls;
  /** The server's own certificate and key, for stand-in TLS servers in client tests. */
  serverTls: { cert: string; key: string };
  /** Strings no error or log line may contain: the client key's PEM body lines. */
  secrets: string[];
  /** The last lines of the server log. */
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe', timeout: 20_000 });
}

/** A CA, and a leaf key and certificate signed by it with `extensions`. */
function makeCa(dir: string, name: string): void {
  openssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`]);
  openssl(dir, [
    'req', '-x509', '-new', '-key', `${name}.key`, '-subj', `/CN=vecseal test ${name}`, '-days', '2', '-out', `${name}.crt`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

function makeLeaf(dir: string, name: string, ca: string, subject: string, extensions: string): void {
  openssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`]);
  openssl(dir, ['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`]);
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.crt`]);
}

/** Resolves once a client can complete a TLS handshake with the server. */
function handshake(port: number, tls: ClientTls): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, ca: tls.ca, cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' }, () => {
      socket.end();
      resolve(true);
    });
    socket.setTimeout(2000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', () => resolve(false));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Starts a private PyKMIP server.
 * @throws Error with the server log's tail when it does not accept TLS within `startTimeoutMs`
 */
export async function startPyKmip(options: { startTimeoutMs?: number } = {}): Promise<PyKmipServer> {
  const dir = mkdtempSync(join(tmpdir(), 'vecseal-pykmip-'));
  const read = (f: string): string => readFileSync(join(dir, f), 'utf8');
  makeCa(dir, 'ca');
  makeLeaf(dir, 'server', 'ca', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\nbasicConstraints=CA:FALSE\n');
  makeLeaf(dir, 'client', 'ca', '/CN=vecseal-test-client', 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\nbasicConstraints=CA:FALSE\n');
  makeCa(dir, 'foreign-ca');
  makeLeaf(dir, 'foreign-client', 'foreign-ca', '/CN=vecseal-foreign-client', 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\nbasicConstraints=CA:FALSE\n');
  mkdirSync(join(dir, 'policies'));

  const port = await freePort();
  const logPath = join(dir, 'server.log');
  writeFileSync(
    join(dir, 'server.conf'),
    [
      '[server]',
      'hostname=127.0.0.1',
      `port=${port}`,
      `certificate_path=${join(dir, 'server.crt')}`,
      `key_path=${join(dir, 'server.key')}`,
      `ca_path=${join(dir, 'ca.crt')}`,
      'auth_suite=TLS1.2',
      `policy_path=${join(dir, 'policies')}`,
      'enable_tls_client_auth=True',
      'tls_cipher_suites=TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
      'logging_level=INFO',
      `database_path=${join(dir, 'pykmip.db')}`,
      '',
    ].join('\n'),
  );

  const clientTls: ClientTls = { ca: read('ca.crt'), cert: read('client.crt'), key: read('client.key') };
  const foreignClientTls: ClientTls = { ca: read('ca.crt'), cert: read('foreign-client.crt'), key: read('foreign-client.key') };
  const keyBody = clientTls.key.split('\n').filter((l) => l !== '' && !l.startsWith('-----'));
  const secrets = [...keyBody, keyBody.join(''), ...foreignClientTls.key.split('\n').filter((l) => l !== '' && !l.startsWith('-----'))];

  let stderr = '';
  const child: ChildProcess = spawn(PYTHON, ['-c', LAUNCHER, '-f', join(dir, 'server.conf'), '-l', logPath], {
    cwd: dir,
    detached: true, // its own process group, so stop() can end the multiprocessing helper too
    stdio: ['pipe', 'ignore', 'pipe'],
    env: { PATH: '/usr/bin:/bin', HOME: dir, LANG: 'C.UTF-8' },
  });
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString('utf8')).slice(-4000);
  });
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => {
    exited = true;
    resolve();
  }));

  const logTail = (lines = 40): string => (existsSync(logPath) ? readFileSync(logPath, 'utf8').trim().split('\n').slice(-lines).join('\n') : '(no server log)');

  const stop = async (): Promise<void> => {
    if (!exited) {
      child.stdin!.end();
      const killed = await Promise.race([exit.then(() => false), sleep(STOP_GRACE_MS).then(() => true)]);
      if (killed && child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
        await exit;
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  for (;;) {
    if (exited) {
      const why = `PyKMIP exited during start-up.\n--- stderr ---\n${stderr}\n--- server.log ---\n${logTail()}`;
      await stop();
      throw new Error(why);
    }
    if (await handshake(port, clientTls)) break;
    if (Date.now() > deadline) {
      const why = `PyKMIP did not accept TLS on 127.0.0.1:${port} in time.\n--- stderr ---\n${stderr}\n--- server.log ---\n${logTail()}`;
      await stop();
      throw new Error(why);
    }
    await sleep(150);
  }
  return { host: '127.0.0.1', port, clientTls, foreignClientTls, serverTls: { cert: read('server.crt'), key: read('server.key') }, secrets, logTail, stop };
}
