/**
 * AWS Signature Version 4 (AWS General Reference, "Signing AWS API requests") for the AWS KMS
 * provider, through aws4fetch's AwsV4Signer (WebCrypto HMAC-SHA256, so it runs in browsers and
 * Node), and one signed JSON-protocol call (AWS JSON 1.1: POST, X-Amz-Target, a JSON body).
 *
 * Every header we send is signed (allHeaders), Content-Type included, so nothing between us and
 * the service can change how the body is read. No derived signing key is cached: a cache would
 * key a Map by the secret access key, and deriving one costs four HMACs.
 */
import { AwsV4Signer } from 'aws4fetch';
import { InvalidInputError, ProviderError } from '../errors.js';
import { sendJson, type HttpResponse } from './_http.js';

/** AWS credentials: long-term (access key id + secret) or temporary (plus session token). */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
}

/**
 * Static credentials, or a supplier called before every request (each attempt), so that rotating
 * temporary credentials are picked up; a supplier caches them itself if it wants to.
 */
export type AwsCredentialSource = AwsCredentials | (() => AwsCredentials | Promise<AwsCredentials>);

export interface SignInput {
  method: string;
  url: string;
  /** Headers to sign and send; Host comes from the URL and X-Amz-Date from `datetime`. */
  headers: Record<string, string>;
  body: string;
  credentials: AwsCredentials;
  region: string;
  service: string;
  /** YYYYMMDD'T'HHMMSS'Z'; default now. */
  datetime?: string;
}

export interface SignedRequest {
  /** The headers to send: the input's plus X-Amz-Date, X-Amz-Security-Token and Authorization. */
  headers: Record<string, string>;
  canonicalRequest: string;
  stringToSign: string;
}

/** Checks a credentials object's shape; messages name fields, never values. */
export function checkCredentials(value: unknown): AwsCredentials {
  const c = value as Partial<AwsCredentials> | null;
  if (c === null || typeof c !== 'object') throw new InvalidInputError('AWS credentials must be an object { accessKeyId, secretAccessKey, sessionToken? }');
  if (typeof c.accessKeyId !== 'string' || c.accessKeyId === '') throw new InvalidInputError('AWS credentials accessKeyId must be a non-empty string');
  if (typeof c.secretAccessKey !== 'string' || c.secretAccessKey === '') throw new InvalidInputError('AWS credentials secretAccessKey must be a non-empty string');
  if (c.sessionToken !== undefined && typeof c.sessionToken !== 'string') throw new InvalidInputError('AWS credentials sessionToken must be a string when present');
  return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken || undefined };
}

/** Signs a request as the AWS KMS provider does (SigV4 in the Authorization header). */
export async function signAwsRequest(input: SignInput): Promise<SignedRequest> {
  const signer = new AwsV4Signer({
    method: input.method,
    url: input.url,
    headers: input.headers,
    body: input.body,
    accessKeyId: input.credentials.accessKeyId,
    secretAccessKey: input.credentials.secretAccessKey,
    sessionToken: input.credentials.sessionToken,
    region: input.region,
    service: input.service,
    allHeaders: true,
    ...(input.datetime !== undefined ? { datetime: input.datetime } : {}),
  });
  const signed = await signer.sign();
  const headers: Record<string, string> = {};
  signed.headers.forEach((value, name) => {
    headers[name] = value;
  });
  return { headers, canonicalRequest: await signer.canonicalString(), stringToSign: await signer.stringToSign() };
}

export interface AwsJsonCall {
  /** For error messages, e.g. 'aws-kms'. */
  provider: string;
  url: string;
  region: string;
  service: string;
  /** X-Amz-Target, e.g. 'TrentService.Encrypt'. */
  target: string;
  body: Record<string, unknown>;
  credentials: AwsCredentialSource;
  signal: AbortSignal;
  fetch?: typeof fetch | undefined;
}

async function resolveCredentials(provider: string, op: string, source: AwsCredentialSource): Promise<AwsCredentials> {
  if (typeof source !== 'function') return source;
  let supplied: unknown;
  try {
    supplied = await source();
  } catch (err) {
    throw new ProviderError(`${provider} ${op}: the credentials supplier failed`, { cause: err, kind: 'rejected' });
  }
  try {
    return checkCredentials(supplied);
  } catch (err) {
    throw new ProviderError(`${provider} ${op}: the credentials supplier returned no usable credentials`, { cause: err, kind: 'rejected' });
  }
}

/**
 * One signed AWS JSON 1.1 call. Returns the answer whatever its status (callers map errors);
 * network failures and aborts behave as in sendJson.
 */
export async function callAwsJson(call: AwsJsonCall): Promise<HttpResponse> {
  const op = call.target.slice(call.target.lastIndexOf('.') + 1);
  const credentials = await resolveCredentials(call.provider, op, call.credentials);
  const body = JSON.stringify(call.body);
  const { headers } = await signAwsRequest({
    method: 'POST',
    url: call.url,
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': call.target },
    body,
    credentials,
    region: call.region,
    service: call.service,
  });
  return sendJson(call.provider, op, { url: call.url, method: 'POST', headers, body, signal: call.signal, fetch: call.fetch });
}
