/**
 * One HTTP exchange for the HTTP providers (AWS KMS, Google Cloud KMS, Azure Key Vault, Vault
 * Transit): fetch bound to the attempt's signal, JSON in and out, and the failure classes the base
 * provider retries on (429 and 5xx) or not. Messages carry the provider, operation, status and the
 * service's error code and message (truncated), never a request body, header or token.
 */
import { ProviderError } from '../errors.js';

export interface HttpRequest {
  url: string;
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  headers?: Record<string, string>;
  /** Sent as is; a non-string value is JSON-encoded. */
  body?: unknown;
  /** The attempt's signal (Attempt.signal). */
  signal: AbortSignal;
  /** Default: globalThis.fetch. */
  fetch?: typeof fetch;
}

export interface HttpResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON body; undefined for an empty body. */
  json: unknown;
}

const MAX_SERVICE_MESSAGE = 200;

/** Keeps a service's error message short and on one line. */
export function serviceMessage(message: unknown): string {
  if (typeof message !== 'string' || message === '') return '';
  const line = message.replace(/\s+/g, ' ').trim();
  return line.length > MAX_SERVICE_MESSAGE ? `${line.slice(0, MAX_SERVICE_MESSAGE)}...` : line;
}

/**
 * Sends one request. Network failures become ProviderError kind 'network'; an abort from the
 * signal rethrows the signal's reason (the base provider's timeout or the caller's abort); a body
 * that is not JSON becomes kind 'protocol'. Any HTTP status is returned: callers map errors with
 * httpFailure.
 */
export async function sendJson(provider: string, op: string, request: HttpRequest): Promise<HttpResponse> {
  const doFetch = request.fetch ?? globalThis.fetch;
  const body = request.body === undefined ? undefined : typeof request.body === 'string' ? request.body : JSON.stringify(request.body);
  let response: Response;
  try {
    response = await doFetch(request.url, { method: request.method ?? 'POST', headers: request.headers, body, signal: request.signal });
  } catch (err) {
    if (request.signal.aborted) throw request.signal.reason;
    throw new ProviderError(`${provider} ${op}: the connection failed or closed before an answer`, { cause: err, kind: 'network' });
  }
  let text: string;
  try {
    text = await response.text();
  } catch (err) {
    if (request.signal.aborted) throw request.signal.reason;
    throw new ProviderError(`${provider} ${op}: the connection closed while reading the answer (HTTP ${response.status})`, { cause: err, kind: 'network', status: response.status });
  }
  let json: unknown;
  if (text !== '') {
    try {
      json = JSON.parse(text);
    } catch (err) {
      if (response.status >= 500 || response.status === 429) json = undefined;
      else throw new ProviderError(`${provider} ${op}: the answer is not JSON (HTTP ${response.status})`, { cause: err, kind: 'protocol', status: response.status });
    }
  }
  return { status: response.status, headers: response.headers, json };
}

/**
 * The ProviderError for a non-2xx answer that is not an authentication or key-state failure:
 * 429 or a throttling code -> 'throttled', 5xx -> 'unavailable' (both retried), else 'rejected'.
 */
export function httpFailure(provider: string, op: string, status: number, providerCode: string | undefined, message: unknown, throttlingCodes: readonly string[] = []): ProviderError {
  const kind = status === 429 || (providerCode !== undefined && throttlingCodes.includes(providerCode)) ? 'throttled' : status >= 500 ? 'unavailable' : 'rejected';
  const said = serviceMessage(message);
  return new ProviderError(`${provider} ${op} failed: HTTP ${status}${providerCode ? ` ${providerCode}` : ''}${said ? `: ${said}` : ''}`, {
    providerCode,
    kind,
    status,
  });
}
