/**
 * A local HashiCorp Vault Transit server for the VaultTransitProvider tests, written from the public
 * Transit HTTP API docs (https://developer.hashicorp.com/vault/api-docs/secret/transit; OpenBao's copy
 * of the same page for associated_data and partial_failure_response_code). It speaks the same JSON
 * ({ data: ... } answers, { errors: [...] } failures, the same error sentences) on:
 *
 *   POST/GET/DELETE /v1/:mount/keys/:name      create (aes256-gcm96, derived) / read / delete (if deletion_allowed)
 *   POST /v1/:mount/keys/:name/rotate          new latest version
 *   POST /v1/:mount/keys/:name/config          min_decryption_version, min_encryption_version, deletion_allowed
 *   POST /v1/:mount/encrypt|decrypt|rewrap/:name   single or batch_input (reference, partial_failure_response_code)
 *   POST /v1/:mount/datakey/plaintext|wrapped/:name
 *
 * Crypto as the docs describe aes256-gcm96: AES-256-GCM with a random 96-bit nonce, ciphertext
 * 'vault:vN:' + base64(nonce || ciphertext || tag), associated_data as the GCM AAD. Derived keys use
 * HKDF-SHA256 (RFC 5869) with the version's key as input key material, an empty salt and the request's
 * context as info, 32 bytes out: Vault's documented hkdf_sha256 KDF. Byte compatibility with a real
 * Vault is not claimed and not needed (keys never leave either).
 *
 * As in Vault, rewrap and datakey take no associated_data (it is ignored with a warning, so a
 * ciphertext made with associated data fails to rewrap with "cipher: message authentication failed").
 * Differences, on purpose: no sys/mounts (every mount path exists), only aes256-gcm96 keys, no
 * convergent encryption, and encrypt never creates a missing key (Vault "upserts" for tokens with the
 * create capability; this server behaves like a token with update only, or disable_upsert).
 *
 * Every request needs X-Vault-Token (else 403 "permission denied"); X-Vault-Namespace selects a
 * separate key space. Faults come from _local-server.ts: throttling is 429 "rate limit quota
 * exceeded" (Vault's rate-limit quotas), a server error is 500.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, randomUUID } from 'node:crypto';
import type { ServerForTests } from './global-setup.js';
import { startLocalServer, type LocalResponse } from './_local-server.js';

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const ERR_TOO_OLD = 'ciphertext or signature version is disallowed by policy (too old)';
const ERR_MISSING_CONTEXT =
  "missing 'context' for key derivation; the key was created using a derived key, which means additional, per-request information must be included in order to perform operations with the key";

interface TransitKey {
  name: string;
  derived: boolean;
  /** Version -> key material; versions below minAvailable would be trimmed (not used here). */
  versions: Map<number, Buffer>;
  created: Map<number, number>;
  latest: number;
  minDecryption: number;
  minEncryption: number;
  deletionAllowed: boolean;
}

type Json = Record<string, unknown>;

/** A failure of one request or batch item: Vault's "user error" (HTTP 400). */
class UserError extends Error {}

function reply(status: number, body: Json): LocalResponse {
  return { status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

function fail(status: number, ...errors: string[]): LocalResponse {
  return reply(status, { errors });
}

function envelope(data: Json, warnings: string[] = []): Json {
  return { request_id: randomUUID(), lease_id: '', renewable: false, lease_duration: 0, data, wrap_info: null, warnings: warnings.length > 0 ? warnings : null, auth: null };
}

/** Strict base64 (Go's StdEncoding): Node's own decoder would accept anything. */
function decode64(value: unknown, what: string): Buffer {
  if (typeof value !== 'string' || !BASE64.test(value)) throw new UserError(`failed to base64-decode ${what}`);
  return Buffer.from(value, 'base64');
}

function optional64(value: unknown, what: string): Buffer | undefined {
  return value === undefined || value === '' ? undefined : decode64(value, what);
}

function keyInfo(k: TransitKey): Json {
  const keys: Record<string, number> = {};
  for (const [v, t] of k.created) keys[String(v)] = t;
  return {
    name: k.name,
    type: 'aes256-gcm96',
    derived: k.derived,
    ...(k.derived ? { kdf: 'hkdf_sha256' } : {}),
    convergent_encryption: false,
    deletion_allowed: k.deletionAllowed,
    exportable: false,
    allow_plaintext_backup: false,
    imported_key: false,
    auto_rotate_period: 0,
    keys,
    latest_version: k.latest,
    min_available_version: 0,
    min_decryption_version: k.minDecryption,
    min_encryption_version: k.minEncryption,
    supports_encryption: true,
    supports_decryption: true,
    supports_derivation: true,
    supports_signing: false,
  };
}

function addVersion(k: TransitKey): void {
  k.latest += 1;
  k.versions.set(k.latest, randomBytes(KEY_BYTES));
  k.created.set(k.latest, Math.floor(Date.now() / 1000));
}

/** The key for one operation: the version's key, or (derived keys) HKDF-SHA256 of it with the context as info. */
function keyFor(k: TransitKey, version: number, context: Buffer | undefined): Buffer {
  const material = k.versions.get(version);
  if (material === undefined) throw new UserError('no such key version');
  if (!k.derived) return material;
  if (context === undefined || context.length === 0) throw new UserError(ERR_MISSING_CONTEXT);
  return Buffer.from(hkdfSync('sha256', material, Buffer.alloc(0), context, KEY_BYTES));
}

/** The version encrypt uses, checked as the docs say for key_version. */
function encryptionVersion(k: TransitKey, requested: unknown): number {
  const v = requested === undefined || requested === null || requested === '' ? 0 : Number(requested);
  if (!Number.isInteger(v)) throw new UserError('key_version must be an integer');
  if (v === 0) return k.latest;
  if (v < 0) throw new UserError('requested version for encryption is negative');
  if (v > k.latest) throw new UserError('requested version for encryption is higher than the latest key version');
  if (v < k.minEncryption) throw new UserError('requested version for encryption is less than the minimum encryption key version');
  return v;
}

function seal(k: TransitKey, version: number, plaintext: Buffer, context: Buffer | undefined, aad: Buffer | undefined): string {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keyFor(k, version, context), nonce);
  if (aad !== undefined) cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return `vault:v${version}:${Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64')}`;
}

function open(k: TransitKey, ciphertext: unknown, context: Buffer | undefined, aad: Buffer | undefined): Buffer {
  if (typeof ciphertext !== 'string' || ciphertext === '') throw new UserError('missing ciphertext to decrypt');
  if (!ciphertext.startsWith('vault:v')) throw new UserError('invalid ciphertext: no prefix');
  const rest = ciphertext.slice('vault:v'.length);
  const colon = rest.indexOf(':');
  if (colon < 0) throw new UserError('invalid ciphertext: wrong number of fields');
  const versionText = rest.slice(0, colon);
  if (!/^\d{1,9}$/.test(versionText)) throw new UserError('invalid ciphertext: version number could not be decoded');
  const version = Math.max(1, Number(versionText)); // version 0 is read as 1, as the first Vault releases wrote it
  if (version > k.latest) throw new UserError('invalid ciphertext: version is too new');
  if (version < k.minDecryption) throw new UserError(ERR_TOO_OLD);
  const encoded = rest.slice(colon + 1);
  if (!BASE64.test(encoded)) throw new UserError('invalid ciphertext: could not decode base64');
  const raw = Buffer.from(encoded, 'base64');
  if (raw.length < NONCE_BYTES) throw new UserError('invalid ciphertext length');
  const key = keyFor(k, version, context);
  if (raw.length < NONCE_BYTES + TAG_BYTES) throw new UserError('cipher: message authentication failed');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, NONCE_BYTES));
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    if (aad !== undefined) decipher.setAAD(aad);
    return Buffer.concat([decipher.update(raw.subarray(NONCE_BYTES, raw.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new UserError('cipher: message authentication failed');
  }
}

function refuseNonce(item: Json): void {
  if (item.nonce !== undefined && item.nonce !== '') throw new UserError('provided nonce not allowed for this key');
}

/** Warns about parameters an endpoint does not know, as Vault does (it ignores them). */
function ignored(body: Json, known: readonly string[]): string[] {
  const unknown = Object.keys(body).filter((k) => !known.includes(k));
  return unknown.length > 0 ? [`Endpoint ignored these unrecognized parameters: [${unknown.join(' ')}]`] : [];
}

/**
 * One item, or batch_input: each item's result or error in input order, with its reference; 400
 * when any item failed (or partial_failure_response_code when some succeeded).
 */
function itemsOrBatch(body: Json, warnings: string[], run: (item: Json) => Json): LocalResponse {
  if (body.batch_input === undefined) {
    try {
      return reply(200, envelope(run(body), warnings));
    } catch (err) {
      if (err instanceof UserError) return fail(400, err.message);
      throw err;
    }
  }
  const input = body.batch_input;
  if (!Array.isArray(input) || input.length === 0) return fail(400, 'missing batch input to process');
  if (input.some((i) => i === null || typeof i !== 'object' || Array.isArray(i))) return fail(400, 'failed to parse batch input');
  const withContext = input.filter((i: Json) => typeof i.context === 'string' && i.context !== '').length;
  if (withContext !== 0 && withContext !== input.length) return fail(400, 'context should be set either in all the request blocks or in none');
  let failed = 0;
  const results = (input as Json[]).map((item) => {
    const reference = typeof item.reference === 'string' ? item.reference : '';
    try {
      return { ...run({ ...item, key_version: item.key_version ?? body.key_version }), reference };
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      failed++;
      return { error: err.message, reference };
    }
  });
  let status = 200;
  if (failed > 0) {
    status = 400;
    const partial = body.partial_failure_response_code;
    if (failed < results.length && typeof partial === 'number' && Number.isInteger(partial) && partial >= 1 && partial <= 599) status = partial;
  }
  return reply(status, envelope({ batch_results: results }, warnings));
}

export interface VaultTransitServer {
  url: string;
  token: string;
  close(): Promise<void>;
}

/** Starts the server on 127.0.0.1 with a fresh random token. */
export async function startVaultTransitServer(): Promise<VaultTransitServer> {
  const token = `hvs.${randomBytes(18).toString('base64url')}`;
  const keys = new Map<string, TransitKey>();

  const handler = (request: { method: string; path: string; headers: Record<string, string | string[] | undefined>; body: Buffer }): LocalResponse => {
    if (request.headers['x-vault-token'] !== token) return fail(403, 'permission denied');
    const path = request.path.split('?')[0]!;
    const method = request.method === 'PUT' ? 'POST' : request.method;
    const namespace = String(request.headers['x-vault-namespace'] ?? '').replace(/^\/+|\/+$/g, '');
    let body: Json = {};
    if (request.body.length > 0) {
      try {
        const parsed = JSON.parse(request.body.toString('utf8')) as unknown;
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return fail(400, 'failed to parse JSON input: not an object');
        body = parsed as Json;
      } catch {
        return fail(400, 'failed to parse JSON input');
      }
    }
    const route = /^\/v1\/([^/]+)\/(keys|encrypt|decrypt|rewrap|datakey)\/(.+)$/.exec(path);
    if (route === null) return fail(404, `no handler for route "${path.replace(/^\/v1\//, '')}". route entry not found.`);
    const [, mount, endpoint, rest] = route as unknown as [string, string, string, string];
    const slot = (name: string): string => `${namespace}\u0000${mount}\u0000${name}`;

    if (endpoint === 'keys') {
      const [name, action, extra] = rest.split('/');
      if (name === undefined || extra !== undefined) return fail(404, 'unsupported path');
      const key = keys.get(slot(name));
      if (action === undefined) {
        if (method === 'GET') return key === undefined ? reply(404, { errors: [] }) : reply(200, envelope(keyInfo(key)));
        if (method === 'DELETE') {
          if (key === undefined) return fail(400, 'could not delete key; not found');
          if (!key.deletionAllowed) return fail(400, 'deletion is not allowed for this key');
          keys.delete(slot(name));
          return { status: 204 };
        }
        if (method !== 'POST') return fail(405);
        if (!/^\w(?:[\w.@-]*\w)?$/.test(name)) return fail(400, 'invalid key name');
        const type = body.type ?? 'aes256-gcm96';
        if (type !== 'aes256-gcm96') return fail(400, `key type ${String(type)} is not implemented by this test server`);
        if (body.convergent_encryption === true) return fail(400, 'convergent encryption is not implemented by this test server');
        if (key !== undefined) return reply(200, envelope(keyInfo(key), [`key ${name} already existed`]));
        const created: TransitKey = { name, derived: body.derived === true, versions: new Map(), created: new Map(), latest: 0, minDecryption: 1, minEncryption: 0, deletionAllowed: false };
        addVersion(created);
        keys.set(slot(name), created);
        return reply(200, envelope(keyInfo(created)));
      }
      if (method !== 'POST') return fail(405);
      if (action === 'rotate') {
        if (key === undefined) return fail(400, 'key not found');
        addVersion(key);
        return reply(200, envelope(keyInfo(key)));
      }
      if (action === 'config') {
        if (key === undefined) return fail(400, `no existing key named ${name} could be found`);
        const warnings: string[] = [];
        let minDecryption = key.minDecryption;
        let minEncryption = key.minEncryption;
        if (body.min_decryption_version !== undefined) {
          const v = Number(body.min_decryption_version);
          if (!Number.isInteger(v) || v < 0) return fail(400, 'min decryption version cannot be negative');
          const wanted = v === 0 ? 1 : v;
          if (v === 0) warnings.push('since Vault 0.3, transit key numbering starts at 1; forcing minimum to 1');
          if (wanted > key.latest) return fail(400, `cannot set min decryption version of ${wanted}, latest key version is ${key.latest}`);
          minDecryption = wanted;
        }
        if (body.min_encryption_version !== undefined) {
          const v = Number(body.min_encryption_version);
          if (!Number.isInteger(v) || v < 0) return fail(400, 'min encryption version cannot be negative');
          if (v > key.latest) return fail(400, `cannot set min encryption version of ${v}, latest key version is ${key.latest}`);
          minEncryption = v;
        }
        if (minEncryption > 0 && minEncryption < minDecryption) {
          return fail(
            400,
            `cannot set min encryption/decryption values; min encryption version of ${minEncryption} must be greater than or equal to min decryption version of ${minDecryption}`,
          );
        }
        key.minDecryption = minDecryption;
        key.minEncryption = minEncryption;
        if (typeof body.deletion_allowed === 'boolean') key.deletionAllowed = body.deletion_allowed;
        return reply(200, envelope(keyInfo(key), warnings));
      }
      return fail(404, 'unsupported path');
    }

    if (method !== 'POST') return fail(405);
    if (endpoint === 'datakey') {
      const [kind, name, extra] = rest.split('/');
      if (name === undefined || extra !== undefined) return fail(404, 'unsupported path');
      if (kind !== 'plaintext' && kind !== 'wrapped') return fail(400, "Invalid path, must be 'plaintext' or 'wrapped'");
      const key = keys.get(slot(name));
      if (key === undefined) return fail(400, 'encryption key not found');
      const warnings = ignored(body, ['context', 'nonce', 'bits', 'key_version']);
      return itemsOrBatch({ ...body, batch_input: undefined }, warnings, (item) => {
        refuseNonce(item);
        const bits = item.bits === undefined ? 256 : Number(item.bits);
        if (bits !== 128 && bits !== 256 && bits !== 512) throw new UserError('invalid bit length');
        const dataKey = randomBytes(bits / 8);
        const version = encryptionVersion(key, item.key_version);
        const ciphertext = seal(key, version, dataKey, optional64(item.context, 'context'), undefined);
        return { ciphertext, key_version: version, ...(kind === 'plaintext' ? { plaintext: dataKey.toString('base64') } : {}) };
      });
    }

    const name = rest;
    if (name.includes('/')) return fail(404, 'unsupported path');
    const key = keys.get(slot(name));
    if (key === undefined) return fail(400, 'encryption key not found');
    if (endpoint === 'encrypt') {
      const warnings = ignored(body, ['plaintext', 'context', 'associated_data', 'key_version', 'nonce', 'batch_input', 'type', 'convergent_encryption', 'partial_failure_response_code', 'reference']);
      return itemsOrBatch(body, warnings, (item) => {
        refuseNonce(item);
        if (item.plaintext === undefined) throw new UserError('missing plaintext to encrypt');
        const plaintext = decode64(item.plaintext, 'plaintext');
        const version = encryptionVersion(key, item.key_version);
        return { ciphertext: seal(key, version, plaintext, optional64(item.context, 'context'), optional64(item.associated_data, 'associated_data')), key_version: version };
      });
    }
    if (endpoint === 'decrypt') {
      const warnings = ignored(body, ['ciphertext', 'context', 'associated_data', 'nonce', 'batch_input', 'partial_failure_response_code', 'reference']);
      return itemsOrBatch(body, warnings, (item) => {
        refuseNonce(item);
        const plaintext = open(key, item.ciphertext, optional64(item.context, 'context'), optional64(item.associated_data, 'associated_data'));
        return { plaintext: plaintext.toString('base64') };
      });
    }
    // rewrap: decrypt and encrypt inside the server; like Vault's, it has no associated_data parameter.
    const warnings = ignored(body, ['ciphertext', 'context', 'key_version', 'nonce', 'batch_input', 'partial_failure_response_code', 'reference']);
    return itemsOrBatch(body, warnings, (item) => {
      refuseNonce(item);
      const context = optional64(item.context, 'context');
      const plaintext = open(key, item.ciphertext, context, undefined);
      const version = encryptionVersion(key, item.key_version);
      return { ciphertext: seal(key, version, plaintext, context, undefined), key_version: version };
    });
  };

  const server = await startLocalServer({
    name: 'vault-transit',
    handler,
    throttleResponse: () => fail(429, 'rate limit quota exceeded'),
    serverErrorResponse: () => fail(500, 'internal error'),
  });
  return { url: server.url, token, close: () => server.close() };
}

declare module 'vitest' {
  export interface ProvidedContext {
    vaultUrl: string;
    vaultToken: string;
  }
}

/** For global-setup.ts: the server's URL and its token, handed to the tests with inject(). */
export async function startForTests(): Promise<ServerForTests> {
  const server = await startVaultTransitServer();
  return { provide: { vaultUrl: server.url, vaultToken: server.token }, close: () => server.close() };
}
