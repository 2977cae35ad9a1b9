/**
 * A local Azure Key Vault / Managed HSM keys endpoint for the provider tests, written from the public
 * Key Vault REST API reference (https://learn.microsoft.com/rest/api/keyvault/keys, api-version 7.4)
 * and error bodies the real service returns (recorded in the Azure SDKs' test recordings and issues):
 *
 *   POST   /keys/{name}/create                    new key, or a new version of an existing name
 *   POST   /keys/{name}/rotate                    new version with the same type and size
 *   PUT    /keys/{name}                           import (JWK with private parts; BYOK for tests)
 *   GET    /keys/{name}[/{version}]               key bundle (public part and attributes)
 *   PATCH  /keys/{name}[/{version}]               attributes.enabled / nbf / exp, key_ops, tags
 *   DELETE /keys/{name}                           soft delete -> DeletedKeyBundle
 *   GET    /deletedkeys/{name}                    the soft-deleted key, else 404
 *   DELETE /deletedkeys/{name}                    purge -> 204
 *   POST   /deletedkeys/{name}/recover            undelete
 *   POST   /keys/{name}[/{version}]/wrapkey       RSA-OAEP-256 (RSA keys), A128KW/A192KW/A256KW (oct-HSM)
 *   POST   /keys/{name}[/{version}]/unwrapkey
 *
 * Deletion as the service does it: DELETE /keys/{name} answers at once with the DeletedKeyBundle,
 * but the deleted key becomes visible (GET /deletedkeys) only `deleteLatencyMs` later (default 0);
 * until then a purge or recover answers 409 Conflict / ObjectIsBeingDeleted. With `purgeProtection`
 * a purge answers 403 ("Operation \"purge\" is not allowed because purge protection is enabled")
 * and the recovery level loses '+Purgeable'.
 *
 * Each request needs `Authorization: Bearer <token>` (else 401 with a WWW-Authenticate challenge) and
 * a known api-version. Two flavours: 'vault' holds RSA and RSA-HSM keys; 'managed-hsm' holds RSA-HSM
 * and oct-HSM keys. Crypto is node:crypto: OAEP with SHA-256 and MGF1-SHA-256 (RFC 8017), AES key
 * wrap with the RFC 3394 default IV (id-aesNNN-wrap). Faults come from _local-server.ts: throttling
 * is 429 with Retry-After, a server error is 500, both with Key Vault's error body.
 */
import { constants, createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, generateKeyPair, privateDecrypt, publicEncrypt, randomBytes, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { startLocalServer, type LocalResponse } from './_local-server.js';
import type { ServerForTests } from './global-setup.js';

export type AzureFlavour = 'vault' | 'managed-hsm';

export interface AzureKeyVaultServer {
  /** http://127.0.0.1:<port>: the vault URL; keys are {url}/keys/{name}. */
  url: string;
  flavour: AzureFlavour;
  close(): Promise<void>;
}

type KeyType = 'RSA' | 'RSA-HSM' | 'oct-HSM';

interface KeyVersion {
  version: string;
  kty: KeyType;
  /** RSA modulus or AES key length in bits. */
  size: number;
  keyOps: string[];
  enabled: boolean;
  nbf: number | undefined;
  exp: number | undefined;
  created: number;
  updated: number;
  privateKey?: KeyObject;
  publicKey?: KeyObject;
  secret?: Buffer;
}

interface KeyEntry {
  /** As created (names are matched case-insensitively). */
  name: string;
  /** Oldest first; the last is the current version. */
  versions: KeyVersion[];
  tags: Record<string, string>;
  /** visibleAt: ms since the epoch when the deletion is done and GET /deletedkeys finds it. */
  deleted: { deletedDate: number; scheduledPurgeDate: number; visibleAt: number } | undefined;
}

const API_VERSIONS = new Set(['7.0', '7.1', '7.2', '7.3', '7.4', '7.5']);
const RSA_OPS = ['encrypt', 'decrypt', 'sign', 'verify', 'wrapKey', 'unwrapKey'];
const OCT_OPS = ['encrypt', 'decrypt', 'wrapKey', 'unwrapKey'];
const RECOVERABLE_DAYS = 90;
const AES_KW_IV = Buffer.from('a6a6a6a6a6a6a6a6', 'hex');
const generateRsa = promisify(generateKeyPair);

const now = (): number => Math.floor(Date.now() / 1000);

function json(status: number, body: unknown, headers: Record<string, string> = {}): LocalResponse {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body: JSON.stringify(body) };
}

/** Key Vault's error body: { error: { code, message, innererror? } }. */
function fail(status: number, code: string, message: string, inner?: string): LocalResponse {
  return json(status, { error: { code, message, ...(inner ? { innererror: { code: inner } } : {}) } });
}

function keyNotFound(name: string, flavour: AzureFlavour): LocalResponse {
  return fail(404, 'KeyNotFound', `A key with (name/id) ${name} was not found in this ${flavour === 'vault' ? 'key vault' : 'managed HSM'}.`);
}

const b64u = (bytes: Buffer): string => bytes.toString('base64url');

/** Strict base64url (the service refuses anything else in 'value'). */
function fromB64u(value: unknown): Buffer | undefined {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]*$/.test(value) || value.length % 4 === 1) return undefined;
  return Buffer.from(value, 'base64url');
}

function aesWrapCipher(size: number): string {
  return `id-aes${size}-wrap`;
}

/** Which algorithm names fit a key: RSA-OAEP-256 for RSA keys; AnnnKW for an oct key of nnn bits. */
function algorithmFits(alg: string, key: KeyVersion): boolean {
  if (alg === 'RSA-OAEP-256') return key.kty === 'RSA' || key.kty === 'RSA-HSM';
  const match = /^A(128|192|256)KW$/.exec(alg);
  return match !== null && key.kty === 'oct-HSM' && Number(match[1]) === key.size;
}

function wrapWith(key: KeyVersion, value: Buffer): Buffer {
  if (key.kty === 'oct-HSM') {
    const cipher = createCipheriv(aesWrapCipher(key.size), key.secret!, AES_KW_IV);
    return Buffer.concat([cipher.update(value), cipher.final()]);
  }
  return publicEncrypt({ key: key.publicKey!, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, value);
}

function unwrapWith(key: KeyVersion, value: Buffer): Buffer {
  if (key.kty === 'oct-HSM') {
    const decipher = createDecipheriv(aesWrapCipher(key.size), key.secret!, AES_KW_IV);
    return Buffer.concat([decipher.update(value), decipher.final()]);
  }
  return privateDecrypt({ key: key.privateKey!, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, value);
}

/**
 * Starts one vault (or Managed HSM) on 127.0.0.1 that accepts `token`.
 * @example const hsm = await startAzureKeyVaultServer({ flavour: 'managed-hsm', token: 'test-token' });
 */
export async function startAzureKeyVaultServer(options: { flavour: AzureFlavour; token: string; purgeProtection?: boolean; deleteLatencyMs?: number }): Promise<AzureKeyVaultServer> {
  const { flavour, token } = options;
  const purgeProtection = options.purgeProtection === true;
  const deleteLatencyMs = options.deleteLatencyMs ?? 0;
  const keys = new Map<string, KeyEntry>();
  let base = '';

  const kid = (entry: KeyEntry, version: KeyVersion): string => `${base}/keys/${entry.name}/${version.version}`;

  const bundle = (entry: KeyEntry, version: KeyVersion): Record<string, unknown> => {
    const jwk: Record<string, unknown> = { kid: kid(entry, version), kty: version.kty, key_ops: version.keyOps };
    if (version.publicKey) {
      const pub = version.publicKey.export({ format: 'jwk' });
      jwk.n = pub.n;
      jwk.e = pub.e;
    }
    const attributes: Record<string, unknown> = {
      enabled: version.enabled,
      created: version.created,
      updated: version.updated,
      recoveryLevel: `${flavour === 'vault' ? 'Recoverable' : 'CustomizedRecoverable'}${purgeProtection ? '' : '+Purgeable'}`,
      recoverableDays: RECOVERABLE_DAYS,
    };
    if (version.nbf !== undefined) attributes.nbf = version.nbf;
    if (version.exp !== undefined) attributes.exp = version.exp;
    if (flavour === 'managed-hsm') attributes.exportable = false;
    return { key: jwk, attributes, ...(Object.keys(entry.tags).length > 0 ? { tags: entry.tags } : {}) };
  };

  const deletedBundle = (entry: KeyEntry): Record<string, unknown> => ({
    recoveryId: `${base}/deletedkeys/${entry.name}`,
    deletedDate: entry.deleted!.deletedDate,
    scheduledPurgeDate: entry.deleted!.scheduledPurgeDate,
    ...bundle(entry, entry.versions.at(-1)!),
  });

  /** The live (not deleted) key and the named version, or the current one. */
  const find = (name: string, version: string | undefined): { entry: KeyEntry; key: KeyVersion } | LocalResponse => {
    const entry = keys.get(name.toLowerCase());
    if (!entry || entry.deleted) return keyNotFound(name, flavour);
    const key = version === undefined ? entry.versions.at(-1) : entry.versions.find((v) => v.version === version);
    return key ? { entry, key } : keyNotFound(`${name}/${version}`, flavour);
  };

  /** Checks and applies attributes { enabled, nbf, exp }; a message on a bad value. */
  const applyAttributes = (key: KeyVersion, attributes: unknown): string | undefined => {
    if (attributes === undefined) return undefined;
    if (attributes === null || typeof attributes !== 'object') return "Property 'attributes' must be an object.";
    const a = attributes as Record<string, unknown>;
    if (a.enabled !== undefined && typeof a.enabled !== 'boolean') return "Property 'attributes.enabled' must be a boolean.";
    for (const field of ['nbf', 'exp'] as const) if (a[field] !== undefined && typeof a[field] !== 'number') return `Property 'attributes.${field}' must be a number.`;
    if (a.enabled !== undefined) key.enabled = a.enabled as boolean;
    if (a.nbf !== undefined) key.nbf = a.nbf as number;
    if (a.exp !== undefined) key.exp = a.exp as number;
    return undefined;
  };

  /** kty and key_size as a Key Vault (RSA, RSA-HSM) or a Managed HSM (RSA-HSM, oct-HSM) accepts them. */
  const checkType = (kty: unknown, size: unknown): { kty: KeyType; size: number } | string => {
    const allowed: readonly string[] = flavour === 'vault' ? ['RSA', 'RSA-HSM'] : ['RSA-HSM', 'oct-HSM'];
    if (typeof kty !== 'string' || !allowed.includes(kty)) return `The key type ${String(kty)} is not supported here; use ${allowed.join(' or ')}.`;
    if (kty === 'oct-HSM') {
      const bits = size ?? 256;
      return bits === 128 || bits === 192 || bits === 256 ? { kty, size: bits } : 'An oct-HSM key size must be 128, 192 or 256.';
    }
    const bits = size ?? 2048;
    return bits === 2048 || bits === 3072 || bits === 4096 ? { kty: kty as KeyType, size: bits } : 'An RSA key size must be 2048, 3072 or 4096.';
  };

  const newVersion = async (kty: KeyType, size: number, keyOps: string[] | undefined): Promise<KeyVersion> => {
    const t = now();
    const version: KeyVersion = {
      version: randomBytes(16).toString('hex'),
      kty,
      size,
      keyOps: keyOps ?? (kty === 'oct-HSM' ? OCT_OPS : RSA_OPS),
      enabled: true,
      nbf: undefined,
      exp: undefined,
      created: t,
      updated: t,
    };
    if (kty === 'oct-HSM') version.secret = randomBytes(size / 8);
    else {
      const pair = await generateRsa('rsa', { modulusLength: size, publicExponent: 0x10001 });
      version.privateKey = pair.privateKey;
      version.publicKey = pair.publicKey;
    }
    return version;
  };

  /** Adds a version to `name` (creating the key if new); 409 while a deleted key holds the name. */
  const addVersion = (name: string, version: KeyVersion, tags: unknown): LocalResponse => {
    let entry = keys.get(name.toLowerCase());
    if (entry?.deleted) {
      return fail(409, 'Conflict', `Key ${name} is deleted but recoverable; recover or purge it before reusing its name.`, 'ObjectIsDeletedButRecoverable');
    }
    if (!entry) {
      entry = { name, versions: [], tags: {}, deleted: undefined };
      keys.set(name.toLowerCase(), entry);
    }
    if (tags !== null && typeof tags === 'object') entry.tags = { ...(tags as Record<string, string>) };
    entry.versions.push(version);
    return json(200, bundle(entry, version));
  };

  const checkOps = (ops: unknown): string[] | undefined | string => {
    if (ops === undefined) return undefined;
    if (!Array.isArray(ops) || ops.some((o) => typeof o !== 'string')) return "Property 'key_ops' must be an array of strings.";
    return ops as string[];
  };

  const create = async (name: string, body: Record<string, unknown>): Promise<LocalResponse> => {
    const type = checkType(body.kty, body.key_size);
    if (typeof type === 'string') return fail(400, 'BadParameter', type);
    const ops = checkOps(body.key_ops);
    if (typeof ops === 'string') return fail(400, 'BadParameter', ops);
    const version = await newVersion(type.kty, type.size, ops);
    const bad = applyAttributes(version, body.attributes);
    if (bad) return fail(400, 'BadParameter', bad);
    return addVersion(name, version, body.tags);
  };

  const rotate = async (name: string): Promise<LocalResponse> => {
    const found = find(name, undefined);
    if (!('entry' in found)) return found;
    const current = found.key;
    const version = await newVersion(current.kty, current.size, [...current.keyOps]);
    found.entry.versions.push(version);
    return json(200, bundle(found.entry, version));
  };

  /** Import: { key: JWK with private parts, hsm?, attributes?, tags? }. */
  const importKey = (name: string, body: Record<string, unknown>): LocalResponse => {
    const jwk = body.key as Record<string, unknown> | undefined;
    if (jwk === null || typeof jwk !== 'object') return fail(400, 'BadParameter', "Property 'key' is required.");
    const ops = checkOps(jwk.key_ops);
    if (typeof ops === 'string') return fail(400, 'BadParameter', ops);
    const t = now();
    const common = { version: randomBytes(16).toString('hex'), enabled: true, nbf: undefined, exp: undefined, created: t, updated: t };
    let version: KeyVersion;
    if (jwk.kty === 'RSA' || jwk.kty === 'RSA-HSM') {
      let privateKey: KeyObject;
      try {
        privateKey = createPrivateKey({ key: { ...jwk, kty: 'RSA' } as never, format: 'jwk' });
      } catch {
        return fail(400, 'BadParameter', 'The RSA key is not a valid private JWK.');
      }
      const size = privateKey.asymmetricKeyDetails?.modulusLength ?? 0;
      const kty: KeyType = flavour === 'managed-hsm' || body.hsm === true || jwk.kty === 'RSA-HSM' ? 'RSA-HSM' : 'RSA';
      if (size < 2048) return fail(400, 'BadParameter', 'An RSA key must have at least 2048 bits.');
      version = { ...common, kty, size, keyOps: ops ?? RSA_OPS, privateKey, publicKey: createPublicKey(privateKey) };
    } else if ((jwk.kty === 'oct' || jwk.kty === 'oct-HSM') && flavour === 'managed-hsm') {
      const secret = fromB64u(jwk.k);
      if (!secret || ![16, 24, 32].includes(secret.length)) return fail(400, 'BadParameter', 'An oct key must be 128, 192 or 256 bits.');
      version = { ...common, kty: 'oct-HSM', size: secret.length * 8, keyOps: ops ?? OCT_OPS, secret };
    } else {
      return fail(400, 'BadParameter', `The key type ${String(jwk.kty)} cannot be imported here.`);
    }
    const bad = applyAttributes(version, body.attributes);
    if (bad) return fail(400, 'BadParameter', bad);
    return addVersion(name, version, body.tags);
  };

  const update = (name: string, versionId: string | undefined, body: Record<string, unknown>): LocalResponse => {
    const found = find(name, versionId);
    if (!('entry' in found)) return found;
    const ops = checkOps(body.key_ops);
    if (typeof ops === 'string') return fail(400, 'BadParameter', ops);
    const bad = applyAttributes(found.key, body.attributes);
    if (bad) return fail(400, 'BadParameter', bad);
    if (ops) found.key.keyOps = ops;
    if (body.tags !== null && typeof body.tags === 'object') found.entry.tags = { ...(body.tags as Record<string, string>) };
    found.key.updated = now();
    return json(200, bundle(found.entry, found.key));
  };

  const keyOperation = (op: 'wrapkey' | 'unwrapkey', name: string, versionId: string | undefined, body: Record<string, unknown>): LocalResponse => {
    const found = find(name, versionId);
    if (!('entry' in found)) return found;
    const { entry, key } = found;
    const operation = op === 'wrapkey' ? 'wrapKey' : 'unwrapKey';
    if (!key.enabled) return fail(403, 'Forbidden', `Operation ${operation} is not allowed on a disabled key.`, 'KeyDisabled');
    const t = now();
    if ((key.nbf !== undefined && t < key.nbf) || (key.exp !== undefined && t >= key.exp)) {
      return fail(403, 'Forbidden', `Operation ${operation} is not allowed outside the key's validity period.`);
    }
    if (!key.keyOps.includes(operation)) return fail(403, 'Forbidden', `Operation ${operation} is not permitted on this key.`);
    if (typeof body.alg !== 'string' || body.alg === '') return fail(400, 'BadParameter', "Property 'alg' is required.");
    if (!algorithmFits(body.alg, key)) return fail(400, 'BadParameter', `Algorithm ${body.alg} is not supported for a ${key.kty} key of ${key.size} bits.`);
    const value = fromB64u(body.value);
    if (value === undefined || value.length === 0) return fail(400, 'BadParameter', "Property 'value' is required and must be base64url.");
    let out: Buffer;
    try {
      out = op === 'wrapkey' ? wrapWith(key, value) : unwrapWith(key, value);
    } catch {
      if (op === 'wrapkey') return fail(400, 'BadParameter', `The value cannot be wrapped with ${body.alg} (wrong size).`);
      // The real service answers a refused RSA ciphertext with this BadParameter message.
      return fail(400, 'BadParameter', key.kty === 'oct-HSM' ? 'Unwrap failed: the key data integrity check did not pass.' : 'Error occurred while decoding OAEP padding.');
    }
    return json(200, { kid: kid(entry, key), value: b64u(out) });
  };

  const route = async (method: string, segments: string[], body: Record<string, unknown>): Promise<LocalResponse> => {
    const [collection, name, third, fourth] = segments;
    if (name === undefined || !/^[0-9A-Za-z-]{1,127}$/.test(name)) return fail(400, 'BadParameter', 'The key name is not valid.');
    // An empty version segment (/keys/{name}//wrapkey) means the current version, as clients send it.
    const version = third === '' ? undefined : third;
    if (collection === 'keys') {
      if (segments.length === 2) {
        if (method === 'GET') return route('GET', ['keys', name, ''], body);
        if (method === 'PATCH') return update(name, undefined, body);
        if (method === 'PUT') return importKey(name, body);
        if (method === 'DELETE') {
          const found = find(name, undefined);
          if (!('entry' in found)) return found;
          const t = now();
          found.entry.deleted = { deletedDate: t, scheduledPurgeDate: t + RECOVERABLE_DAYS * 86_400, visibleAt: Date.now() + deleteLatencyMs };
          return json(200, deletedBundle(found.entry));
        }
      }
      if (segments.length === 3 && method === 'POST') {
        if (third === 'create') return create(name, body);
        if (third === 'rotate') return rotate(name);
        if (third === 'wrapkey' || third === 'unwrapkey') return keyOperation(third, name, undefined, body);
      }
      if (segments.length === 3 && method === 'GET') {
        const found = find(name, version);
        return 'entry' in found ? json(200, bundle(found.entry, found.key)) : found;
      }
      if (segments.length === 3 && method === 'PATCH') return update(name, version, body);
      if (segments.length === 4 && method === 'POST' && (fourth === 'wrapkey' || fourth === 'unwrapkey')) return keyOperation(fourth, name, version, body);
    }
    if (collection === 'deletedkeys') {
      const entry = keys.get(name.toLowerCase());
      if (!entry?.deleted) return fail(404, 'KeyNotFound', `Deleted Key not found: ${name}`);
      const inProgress = Date.now() < entry.deleted.visibleAt;
      if (segments.length === 2 && method === 'GET') return inProgress ? fail(404, 'KeyNotFound', `Deleted Key not found: ${name}`) : json(200, deletedBundle(entry));
      if (inProgress) return fail(409, 'Conflict', `Key ${name} is currently being deleted.`, 'ObjectIsBeingDeleted');
      if (segments.length === 2 && method === 'DELETE') {
        if (purgeProtection) {
          return fail(403, 'Forbidden', 'Operation "purge" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed.');
        }
        keys.delete(name.toLowerCase());
        return { status: 204 };
      }
      if (segments.length === 3 && third === 'recover' && method === 'POST') {
        entry.deleted = undefined;
        return json(200, bundle(entry, entry.versions.at(-1)!));
      }
    }
    return fail(404, 'NotFound', `No operation ${method} ${collection}/... here.`);
  };

  const server = await startLocalServer({
    name: `azure-${flavour}`,
    handler: async (request) => {
      const url = new URL(request.path, 'http://local');
      if (request.headers.authorization !== `Bearer ${token}`) {
        const resource = flavour === 'vault' ? 'https://vault.azure.net' : 'https://managedhsm.azure.net';
        return {
          ...fail(401, 'Unauthorized', request.headers.authorization ? 'The access token is not valid for this resource.' : 'Request is missing a Bearer or PoP token.'),
          headers: {
            'content-type': 'application/json; charset=utf-8',
            'www-authenticate': `Bearer authorization="https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000", resource="${resource}"`,
          },
        };
      }
      const apiVersion = url.searchParams.get('api-version');
      if (apiVersion === null || !API_VERSIONS.has(apiVersion)) {
        return fail(400, 'BadParameter', `The api-version '${apiVersion ?? ''}' is not supported; supported versions are ${[...API_VERSIONS].join(', ')}.`);
      }
      let body: Record<string, unknown> = {};
      if (request.body.length > 0) {
        try {
          body = JSON.parse(request.body.toString('utf8')) as Record<string, unknown>;
        } catch {
          return fail(400, 'BadParameter', 'The request body is not valid JSON.');
        }
        if (body === null || typeof body !== 'object') return fail(400, 'BadParameter', 'The request body must be a JSON object.');
      }
      const segments = url.pathname.split('/').slice(1);
      if (segments.length > 2 && segments.at(-1) === '') segments.pop(); // trailing slash
      return route(request.method, segments, body);
    },
    throttleResponse: () => ({
      ...fail(429, 'Throttled', 'Request was not processed because too many requests were received.'),
      headers: { 'content-type': 'application/json; charset=utf-8', 'retry-after': '1' },
    }),
    serverErrorResponse: () => fail(500, 'InternalServerError', 'An internal error occurred; try again.'),
  });
  base = server.url;
  return { url: server.url, flavour, close: () => server.close() };
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** A local Key Vault (RSA keys). */
    azureKeyVaultUrl: string;
    /** A local Managed HSM (RSA-HSM and oct-HSM keys). */
    azureManagedHsmUrl: string;
    /** The bearer token both accept. */
    azureAccessToken: string;
  }
}

/** For global-setup.ts: a vault and a Managed HSM sharing one random token. */
export async function startForTests(): Promise<ServerForTests> {
  const token = `kv-test-${randomBytes(24).toString('base64url')}`;
  const vault = await startAzureKeyVaultServer({ flavour: 'vault', token });
  let hsm: AzureKeyVaultServer;
  try {
    hsm = await startAzureKeyVaultServer({ flavour: 'managed-hsm', token });
  } catch (err) {
    await vault.close();
    throw err;
  }
  return {
    provide: { azureKeyVaultUrl: vault.url, azureManagedHsmUrl: hsm.url, azureAccessToken: token },
    close: async () => {
      await Promise.all([vault.close(), hsm.close()]);
    },
  };
}
