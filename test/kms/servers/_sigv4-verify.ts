/**
 * Server side of AWS Signature Version 4 (AWS General Reference, "Create a signed AWS API request";
 * header signing only): rebuilds the canonical request and string to sign from what arrived, derives
 * the signing key from the secret the server holds, and compares signatures, answering with the
 * error codes and messages AWS JSON services use. Written from the specification, independently of
 * the provider's signer (aws4fetch), so that each checks the other.
 *
 * Portable (WebCrypto only): test/kms/sigv4.test.ts runs it against AWS's published vectors in
 * Node and in browsers.
 */

/** What arrived: method, the path and query as on the request line, headers in order, body. */
export interface SigV4Request {
  method: string;
  /** e.g. '/?Param1=value1' */
  uri: string;
  /** [name, value] pairs (repeats allowed), or Node's IncomingMessage headers. */
  headers: readonly (readonly [string, string])[] | Record<string, string | string[] | undefined>;
  body: Uint8Array | string;
}

export interface SigV4Secret {
  secretAccessKey: string;
  /** Temporary credentials: the X-Amz-Security-Token the request must carry. */
  sessionToken?: string;
  /** Revoked or past its expiry. */
  expired?: boolean;
}

export interface VerifyOptions {
  region: string;
  service: string;
  lookup(accessKeyId: string): SigV4Secret | undefined;
  /** Default: the current time. */
  now?: Date;
  /** Allowed clock difference (AWS: 5 minutes). */
  maxSkewMs?: number;
}

export type SigV4ErrorCode = 'MissingAuthenticationTokenException' | 'IncompleteSignatureException' | 'UnrecognizedClientException' | 'ExpiredTokenException' | 'InvalidSignatureException';

export type VerifyResult = { ok: true; accessKeyId: string } | { ok: false; code: SigV4ErrorCode; message: string };

const ALGORITHM = 'AWS4-HMAC-SHA256';
const encoder = new TextEncoder();

/** RFC 3986 percent-encoding of everything but unreserved characters (A-Z a-z 0-9 - . _ ~). */
export function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Normalised path (dot segments resolved, empty segments dropped), each segment encoded as it arrived. */
function canonicalUri(path: string): string {
  const out: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') out.pop();
    else out.push(uriEncode(segment));
  }
  const joined = `/${out.join('/')}`;
  return path.endsWith('/') && joined !== '/' ? `${joined}/` : joined;
}

function canonicalQuery(query: string): string {
  const pairs = query
    .split('&')
    .filter((p) => p !== '')
    .map((p) => {
      const at = p.indexOf('=');
      const [k, v] = at < 0 ? [p, ''] : [p.slice(0, at), p.slice(at + 1)];
      return [uriEncode(safeDecode(k)), uriEncode(safeDecode(v))] as const;
    })
    .filter(([k]) => k !== 'X-Amz-Signature');
  pairs.sort(([k1, v1], [k2, v2]) => (k1 < k2 ? -1 : k1 > k2 ? 1 : v1 < v2 ? -1 : v1 > v2 ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

/** Lower-case name -> values in arrival order, each trimmed with inner runs of spaces collapsed. */
function headerMap(headers: SigV4Request['headers']): Map<string, string[]> {
  const map = new Map<string, string[]>();
  const add = (name: string, value: string): void => {
    const key = name.toLowerCase();
    const list = map.get(key) ?? [];
    list.push(value.trim().replace(/\s+/g, ' '));
    map.set(key, list);
  };
  if (Array.isArray(headers)) for (const [n, v] of headers as readonly (readonly [string, string])[]) add(n, v);
  else {
    for (const [n, v] of Object.entries(headers as Record<string, string | string[] | undefined>)) {
      if (Array.isArray(v)) v.forEach((x) => add(n, x));
      else if (v !== undefined) add(n, v);
    }
  }
  return map;
}

function toHex(bytes: ArrayBuffer | Uint8Array): string {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
}

async function sha256Hex(data: Uint8Array | string): Promise<string> {
  return toHex(await crypto.subtle.digest('SHA-256', typeof data === 'string' ? encoder.encode(data) : new Uint8Array(data)));
}

async function hmac(key: Uint8Array | string, data: string): Promise<Uint8Array> {
  const raw = typeof key === 'string' ? encoder.encode(key) : key;
  const k = await crypto.subtle.importKey('raw', new Uint8Array(raw), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await crypto.subtle.sign('HMAC', k, encoder.encode(data)));
}

/** The canonical request for the given signed header names (lower case, as in SignedHeaders). */
export async function canonicalRequestOf(request: SigV4Request, signedHeaders: readonly string[]): Promise<string> {
  const q = request.uri.indexOf('?');
  const path = q < 0 ? request.uri : request.uri.slice(0, q);
  const query = q < 0 ? '' : request.uri.slice(q + 1);
  const headers = headerMap(request.headers);
  const lines = signedHeaders.map((name) => `${name}:${(headers.get(name) ?? []).join(',')}\n`).join('');
  return [request.method.toUpperCase(), canonicalUri(path), canonicalQuery(query), lines, signedHeaders.join(';'), await sha256Hex(request.body)].join('\n');
}

export async function stringToSignOf(datetime: string, scope: string, canonicalRequest: string): Promise<string> {
  return [ALGORITHM, datetime, scope, await sha256Hex(canonicalRequest)].join('\n');
}

/** Hex signature of a string to sign: HMAC chain AWS4+secret -> date -> region -> service -> aws4_request. */
export async function signatureOf(secretAccessKey: string, scope: string, stringToSign: string): Promise<string> {
  let key: Uint8Array | string = `AWS4${secretAccessKey}`;
  for (const part of scope.split('/')) key = await hmac(key, part);
  return toHex(await hmac(key, stringToSign));
}

interface ParsedAuthorization {
  accessKeyId: string;
  scope: string;
  date: string;
  region: string;
  service: string;
  terminator: string;
  signedHeaders: string[];
  signature: string;
}

function parseAuthorization(header: string): ParsedAuthorization | string {
  if (!header.startsWith(`${ALGORITHM} `)) return `Unsupported AWS 'algorithm': '${header.split(' ')[0] ?? ''}'.`;
  const params = new Map<string, string>();
  for (const part of header.slice(ALGORITHM.length + 1).split(',')) {
    const at = part.indexOf('=');
    if (at > 0) params.set(part.slice(0, at).trim(), part.slice(at + 1).trim());
  }
  const missing = ['Credential', 'Signature', 'SignedHeaders'].filter((p) => !params.get(p));
  if (missing.length > 0) return missing.map((p) => `Authorization header requires '${p}' parameter.`).join(' ');
  const credential = params.get('Credential')!.split('/');
  if (credential.length !== 5) return `Credential should have 5 parts separated by '/'.`;
  const [accessKeyId, date, region, service, terminator] = credential as [string, string, string, string, string];
  return { accessKeyId, scope: credential.slice(1).join('/'), date, region, service, terminator, signedHeaders: params.get('SignedHeaders')!.split(';'), signature: params.get('Signature')! };
}

function sameText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

function timeOf(datetime: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(datetime);
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : NaN;
}

function fail(code: SigV4ErrorCode, message: string): VerifyResult {
  return { ok: false, code, message };
}

/** Verifies a header-signed request as an AWS JSON service does. */
export async function verifySigV4(request: SigV4Request, options: VerifyOptions): Promise<VerifyResult> {
  const headers = headerMap(request.headers);
  const authorization = headers.get('authorization')?.[0];
  if (authorization === undefined) return fail('MissingAuthenticationTokenException', 'Missing Authentication Token');
  const auth = parseAuthorization(authorization);
  if (typeof auth === 'string') return fail('IncompleteSignatureException', auth);
  const datetime = headers.get('x-amz-date')?.[0] ?? '';
  const time = timeOf(datetime);
  if (Number.isNaN(time)) return fail('IncompleteSignatureException', `Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.`);
  if (!auth.signedHeaders.includes('host')) return fail('InvalidSignatureException', `'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.`);
  const secret = options.lookup(auth.accessKeyId);
  if (secret === undefined) return fail('UnrecognizedClientException', 'The security token included in the request is invalid.');
  const token = headers.get('x-amz-security-token')?.[0];
  if (secret.sessionToken === undefined ? token !== undefined : token === undefined || !sameText(token, secret.sessionToken)) {
    return fail('UnrecognizedClientException', 'The security token included in the request is invalid.');
  }
  if (secret.expired) return fail('ExpiredTokenException', 'The security token included in the request is expired');
  if (auth.date !== datetime.slice(0, 8)) {
    return fail('InvalidSignatureException', `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${auth.date}' != '${datetime.slice(0, 8)}', from '${datetime}'.`);
  }
  if (auth.region !== options.region) return fail('InvalidSignatureException', `Credential should be scoped to a valid region. `);
  if (auth.service !== options.service) return fail('InvalidSignatureException', `Credential should be scoped to correct service: '${options.service}'. `);
  if (auth.terminator !== 'aws4_request') return fail('InvalidSignatureException', `Credential should be scoped with a valid terminator: 'aws4_request', not '${auth.terminator}'. `);
  const now = (options.now ?? new Date()).getTime();
  const skew = options.maxSkewMs ?? 5 * 60_000;
  if (time < now - skew) return fail('InvalidSignatureException', `Signature expired: ${datetime} is now earlier than ${isoBasic(now - skew)} (${isoBasic(now)} - 5 min.)`);
  if (time > now + skew) return fail('InvalidSignatureException', `Signature not yet current: ${datetime} is still later than ${isoBasic(now + skew)} (${isoBasic(now)} + 5 min.)`);
  const canonical = await canonicalRequestOf(request, auth.signedHeaders);
  const expected = await signatureOf(secret.secretAccessKey, auth.scope, await stringToSignOf(datetime, auth.scope, canonical));
  if (!sameText(expected, auth.signature)) {
    return fail(
      'InvalidSignatureException',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    );
  }
  return { ok: true, accessKeyId: auth.accessKeyId };
}

function isoBasic(ms: number): string {
  return new Date(ms).toISOString().replace(/[:-]|\.\d{3}/g, '');
}
