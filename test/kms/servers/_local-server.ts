/**
 * The HTTP shell every local protocol server in test/kms/servers uses: binds 127.0.0.1 on a free
 * port, answers CORS (so the browser test projects can call it), counts requests, and injects the
 * faults runProviderSuite asks for through a small control API that works from Node and browsers:
 *
 *   POST   /__faults  {"fault": "hang"|"throttle"|"error500"|"close", "times": n}  arm
 *   DELETE /__faults                                                             disarm
 *   GET    /__faults  -> {"requests": n}                                          requests so far
 *
 * Control requests are not counted. A hung request is answered never; its socket is destroyed
 * when the server closes. Faults and counts are kept per User-Agent: a test project runs Chromium
 * and Firefox at the same time against one server, and each browser must meet only the faults it
 * armed itself (a runtime's own fetch sends the same User-Agent for control and provider requests).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { FaultKind } from '../_provider-suite.js';

export interface LocalResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

export type LocalHandler = (request: { method: string; path: string; headers: IncomingMessage['headers']; body: Buffer }) => LocalResponse | Promise<LocalResponse>;

export interface LocalServerOptions {
  /** For logs and errors. */
  name: string;
  handler: LocalHandler;
  /** What the service answers when it throttles (AWS KMS: 400 ThrottlingException; others: 429). */
  throttleResponse: () => LocalResponse;
  /** What the service answers on an internal error. */
  serverErrorResponse: () => LocalResponse;
}

export interface LocalServer {
  /** http://127.0.0.1:<port> */
  url: string;
  close(): Promise<void>;
}

interface Armed {
  fault: FaultKind;
  times: number;
}

export async function startLocalServer(options: LocalServerOptions): Promise<LocalServer> {
  const requests = new Map<string, number>();
  const armed = new Map<string, Armed>();
  const sockets = new Set<Socket>();

  const send = (res: ServerResponse, reply: LocalResponse, cors: Record<string, string>): void => {
    res.writeHead(reply.status, { ...cors, ...reply.headers });
    res.end(reply.body === undefined ? undefined : typeof reply.body === 'string' ? reply.body : Buffer.from(reply.body));
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const cors: Record<string, string> = {
          'access-control-allow-origin': '*',
          'access-control-allow-methods': 'GET, POST, PUT, PATCH, DELETE, OPTIONS',
          'access-control-allow-headers': String(req.headers['access-control-request-headers'] ?? '*'),
          'access-control-expose-headers': '*',
          'access-control-max-age': '600',
          'cross-origin-resource-policy': 'cross-origin',
        };
        const path = req.url ?? '/';
        const agent = String(req.headers['user-agent'] ?? '');
        if (req.method === 'OPTIONS') return send(res, { status: 204 }, cors);
        if (path === '/__faults') {
          if (req.method === 'GET') return send(res, { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ requests: requests.get(agent) ?? 0 }) }, cors);
          if (req.method === 'DELETE') {
            armed.delete(agent);
            return send(res, { status: 204 }, cors);
          }
          const spec = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Armed;
          if (spec.times > 0) armed.set(agent, { fault: spec.fault, times: spec.times });
          else armed.delete(agent);
          return send(res, { status: 204 }, cors);
        }
        requests.set(agent, (requests.get(agent) ?? 0) + 1);
        const mine = armed.get(agent);
        if (mine && mine.times > 0) {
          const fault = mine.fault;
          if (--mine.times === 0) armed.delete(agent);
          if (fault === 'hang') return; // never answered; closed with the server
          if (fault === 'close') return req.socket.destroy();
          return send(res, fault === 'throttle' ? options.throttleResponse() : options.serverErrorResponse(), cors);
        }
        try {
          send(res, await options.handler({ method: req.method ?? 'GET', path, headers: req.headers, body: Buffer.concat(chunks) }), cors);
        } catch (err) {
          // A bug in the test server itself: answer 599 so it is never mistaken for the service's 5xx.
          send(res, { status: 599, body: `${options.name} test server error: ${err instanceof Error ? err.message : String(err)}` }, cors);
        }
      })();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
