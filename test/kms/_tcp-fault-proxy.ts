/**
 * A TCP proxy on 127.0.0.1 that forwards bytes to a TLS server (PyKMIP) and injects the faults
 * runProviderSuite asks for, implementing ProviderFaults for transports that are not HTTP.
 *
 * It cannot read KMIP inside TLS, but it can see TLS record framing (RFC 5246 section 6.2: type,
 * version, 16-bit length): each KMIP request a client writes is one application-data record (type
 * 23), so "requests" are counted and faulted at that boundary. In 'request' mode (default) an armed
 * fault meets the next application-data records: 'hang' stops forwarding that connection both ways
 * (the request is never delivered, no answer comes); 'close' destroys the client socket. In
 * 'connection' mode it meets the next new connections instead: 'hang' accepts and never forwards,
 * 'close' destroys the socket at once; such a connection counts as one request (the one it would have
 * carried). 'throttle' and 'error500' have no meaning for KMIP and are refused.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { FaultKind, ProviderFaults } from './_provider-suite.js';

const TLS_HEADER_BYTES = 5;
const TLS_APPLICATION_DATA = 23;

export type FaultMode = 'request' | 'connection';

export interface TcpFaultProxy extends ProviderFaults {
  host: string;
  port: number;
  mode: FaultMode;
  /** Connections accepted so far. */
  connections(): number;
  /** Destroys every open connection (as a server restart or an idle timeout would). */
  dropAll(): void;
  close(): Promise<void>;
}

export async function startTcpFaultProxy(target: { host: string; port: number }, options: { mode?: FaultMode } = {}): Promise<TcpFaultProxy> {
  let armed: { fault: 'hang' | 'close'; times: number } | undefined;
  let requests = 0;
  let connections = 0;
  const sockets = new Set<Socket>();

  const take = (): 'hang' | 'close' | undefined => {
    if (armed === undefined) return undefined;
    const fault = armed.fault;
    if (--armed.times <= 0) armed = undefined;
    return fault;
  };
  const track = (s: Socket): Socket => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
    return s;
  };

  const server: Server = createServer((client) => {
    connections++;
    track(client);
    if (proxy.mode === 'connection') {
      const fault = take();
      if (fault !== undefined) {
        requests++;
        if (fault === 'close') client.destroy();
        // 'hang': keep the socket open and silent until the client or close() ends it.
        return;
      }
    }
    const upstream = track(connect(target.port, target.host));
    let hung = false;
    let pending: Buffer = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      if (hung) return;
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= TLS_HEADER_BYTES) {
        const length = TLS_HEADER_BYTES + pending.readUInt16BE(3);
        if (pending.length < length) break;
        const record = pending.subarray(0, length);
        pending = pending.subarray(length);
        if (record[0] === TLS_APPLICATION_DATA) {
          requests++;
          const fault = proxy.mode === 'request' ? take() : undefined;
          if (fault === 'hang') {
            hung = true;
            return;
          }
          if (fault === 'close') {
            client.destroy();
            upstream.destroy();
            return;
          }
        }
        upstream.write(record);
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!hung) client.write(chunk);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => {
      if (!hung) client.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });

  const proxy: TcpFaultProxy = {
    host: '127.0.0.1',
    port: (server.address() as { port: number }).port,
    mode: options.mode ?? 'request',
    async arm(fault: FaultKind, times: number) {
      if (fault !== 'hang' && fault !== 'close') throw new Error(`the TCP fault proxy cannot inject '${fault}' (KMIP has no such answer)`);
      armed = times > 0 ? { fault, times } : undefined;
    },
    async clear() {
      armed = undefined;
    },
    async requests() {
      return requests;
    },
    connections: () => connections,
    dropAll() {
      for (const s of sockets) s.destroy();
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}
