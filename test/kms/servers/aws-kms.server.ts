/**
 * A local AWS KMS for tests, written from the public AWS KMS API Reference: the AWS JSON 1.1
 * protocol (POST /, X-Amz-Target: TrentService.<Operation>, Content-Type application/x-amz-json-1.1,
 * errors as HTTP 400/500 with {"__type", "message"}), SigV4 verified on every request
 * (_sigv4-verify.ts), and real AES-256-GCM keys (_aws-kms-keys.ts). Throttling answers as AWS does,
 * HTTP 400 ThrottlingException; server errors as 500 KMSInternalException. The official
 * @aws-sdk/client-kms drives it in aws-kms-sdk.node.test.ts.
 *
 * Credentials: one fixed long-term test key, plus temporary credentials (with session tokens) that
 * tests mint and revoke through a control path that is not part of KMS:
 *   POST /__sts          -> {AccessKeyId, SecretAccessKey, SessionToken}
 *   POST /__sts/revoke   {"AccessKeyId": ...}   (requests with it then fail with ExpiredTokenException)
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { KmsError, KmsKeys } from './_aws-kms-keys.js';
import { startLocalServer, type LocalResponse } from './_local-server.js';
import { verifySigV4, type SigV4Secret } from './_sigv4-verify.js';
import type { ServerForTests } from './global-setup.js';

declare module 'vitest' {
  export interface ProvidedContext {
    awsKmsUrl: string;
    awsAccessKeyId: string;
    awsSecretAccessKey: string;
    awsRegion: string;
  }
}

/** The fixed long-term test credentials (AWS's shapes: 20-character key id, 40-character secret). */
export const AWS_TEST_ACCESS_KEY_ID = 'AKIAVECSEALLOCAL0001';
export const AWS_TEST_SECRET_ACCESS_KEY = 'vecsealLocalKmsTestSecret+0123456789/abc';
export const AWS_TEST_REGION = 'eu-central-1';
export const AWS_TEST_ACCOUNT = '111122223333';

export interface AwsKmsServer {
  url: string;
  region: string;
  accountId: string;
  accessKeyId: string;
  secretAccessKey: string;
  close(): Promise<void>;
}

const JSON_TYPE = 'application/x-amz-json-1.1';

function reply(status: number, body: unknown): LocalResponse {
  return {
    status,
    headers: { 'content-type': JSON_TYPE, 'x-amzn-requestid': randomUUID() },
    body: body === undefined ? '' : JSON.stringify(body),
  };
}

function error(code: string, message: string, status = 400): LocalResponse {
  return reply(status, message === '' ? { __type: code } : { __type: code, message });
}

function randomId(prefix: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  return prefix + Array.from(randomBytes(16), (b) => alphabet[b & 31]).join('');
}

/** Starts a local KMS on 127.0.0.1 with its own keys and credentials. */
export async function startAwsKmsServer(options: { region?: string } = {}): Promise<AwsKmsServer> {
  const region = options.region ?? AWS_TEST_REGION;
  const keys = new KmsKeys(region, AWS_TEST_ACCOUNT);
  const credentials = new Map<string, SigV4Secret>([[AWS_TEST_ACCESS_KEY_ID, { secretAccessKey: AWS_TEST_SECRET_ACCESS_KEY }]]);

  const control = (path: string, body: Buffer): LocalResponse => {
    if (path === '/__sts') {
      const minted = { AccessKeyId: randomId('ASIA'), SecretAccessKey: randomBytes(30).toString('base64'), SessionToken: randomBytes(96).toString('base64') };
      credentials.set(minted.AccessKeyId, { secretAccessKey: minted.SecretAccessKey, sessionToken: minted.SessionToken });
      return reply(200, minted);
    }
    const { AccessKeyId } = JSON.parse(body.toString('utf8') || '{}') as { AccessKeyId?: string };
    const entry = AccessKeyId === undefined ? undefined : credentials.get(AccessKeyId);
    if (entry === undefined || entry.sessionToken === undefined) return error('NotFoundException', 'no such temporary credentials');
    entry.expired = true;
    return reply(200, {});
  };

  const server = await startLocalServer({
    name: 'aws-kms',
    throttleResponse: () => error('ThrottlingException', 'Rate exceeded'),
    serverErrorResponse: () => error('KMSInternalException', 'An internal error occurred.', 500),
    handler: async ({ method, path, headers, body }) => {
      if (path.startsWith('/__sts')) return control(path, body);
      if (method !== 'POST' || path.split('?')[0] !== '/') return error('UnknownOperationException', '', 404);
      const verdict = await verifySigV4({ method, uri: path, headers, body }, { region, service: 'kms', lookup: (id) => credentials.get(id) });
      if (!verdict.ok) return error(verdict.code, verdict.message);
      const target = String(headers['x-amz-target'] ?? '');
      const operation = target.startsWith('TrentService.') ? keys.operation(target.slice('TrentService.'.length)) : undefined;
      if (operation === undefined) return error('UnknownOperationException', '');
      if (!String(headers['content-type'] ?? '').startsWith(JSON_TYPE)) return error('SerializationException', `Unexpected content type; expected ${JSON_TYPE}`);
      let input: unknown;
      try {
        input = JSON.parse(body.toString('utf8') || '{}');
      } catch {
        return error('SerializationException', 'Start of structure or map found where not expected.');
      }
      if (input === null || typeof input !== 'object' || Array.isArray(input)) return error('SerializationException', 'Start of structure or map expected.');
      try {
        return reply(200, operation(input as Record<string, unknown>));
      } catch (err) {
        if (err instanceof KmsError) return error(err.code, err.message, err.status);
        throw err;
      }
    },
  });
  return { url: server.url, region, accountId: AWS_TEST_ACCOUNT, accessKeyId: AWS_TEST_ACCESS_KEY_ID, secretAccessKey: AWS_TEST_SECRET_ACCESS_KEY, close: () => server.close() };
}

export async function startForTests(): Promise<ServerForTests> {
  const server = await startAwsKmsServer();
  return {
    provide: { awsKmsUrl: server.url, awsAccessKeyId: server.accessKeyId, awsSecretAccessKey: server.secretAccessKey, awsRegion: server.region },
    close: () => server.close(),
  };
}
