/**
 * A local Google Cloud KMS for the gcp-kms provider suite, written from the public REST reference
 * (https://cloud.google.com/kms/docs/reference/rest, v1). It speaks the same JSON over HTTP:
 *
 *   POST  /v1/{parent=projects/P/locations/L}/keyRings?keyRingId=R                 keyRings.create
 *   GET   /v1/{name=.../keyRings/R}                                                 keyRings.get
 *   POST  /v1/{parent=.../keyRings/R}/cryptoKeys?cryptoKeyId=K[&skipInitialVersionCreation=true]
 *                                                                                   cryptoKeys.create
 *   GET   /v1/{name=.../cryptoKeys/K}                                               cryptoKeys.get
 *   POST  /v1/{name=.../cryptoKeys/K}:updatePrimaryVersion  {cryptoKeyVersionId}    cryptoKeys.updatePrimaryVersion
 *   POST  /v1/{name=.../cryptoKeys/K or .../cryptoKeyVersions/N}:encrypt            cryptoKeys.encrypt
 *   POST  /v1/{name=.../cryptoKeys/K}:decrypt                                       cryptoKeys.decrypt
 *   POST  /v1/{parent=.../cryptoKeys/K}/cryptoKeyVersions                           cryptoKeyVersions.create
 *   GET   /v1/{parent=.../cryptoKeys/K}/cryptoKeyVersions[?pageSize&pageToken&view]  cryptoKeyVersions.list
 *   GET   /v1/{name=.../cryptoKeyVersions/N}                                        cryptoKeyVersions.get
 *   PATCH /v1/{name=.../cryptoKeyVersions/N}?updateMask=state  {state}              cryptoKeyVersions.patch
 *   POST  /v1/{name=.../cryptoKeyVersions/N}:destroy / :restore                     cryptoKeyVersions.destroy / restore
 *
 * Only symmetric ENCRYPT_DECRYPT keys (GOOGLE_SYMMETRIC_ENCRYPTION, protection level SOFTWARE). Each
 * version holds its own AES-256-GCM key (node:crypto). A ciphertext is opaque to clients but names the
 * key and version that made it: 0x01 | key tag (16) | version (u32 BE) | IV (12) | ciphertext | tag (16),
 * the first 21 bytes and the request's AAD authenticated as GCM associated data.
 *
 * Like the service: a bearer token is required (401 UNAUTHENTICATED); the *Crc32c request fields are
 * checked (400 INVALID_ARGUMENT) and confirmed with verified*Crc32c, answers carry the CRC-32C of
 * their bytes; only ENABLED versions encrypt or decrypt (400 FAILED_PRECONDITION "... is not enabled,
 * current state is: DISABLED."); a ciphertext that does not open is 400 INVALID_ARGUMENT "Decryption
 * failed: ..."; unknown fields in a body are refused; errors are google.rpc.Status JSON. Throttling is
 * 429 RESOURCE_EXHAUSTED and a server error 500 INTERNAL.
 *
 * list pages as the service does (pageSize 1-1000, default LIST_DEFAULT_PAGE_SIZE, an opaque
 * nextPageToken, totalSize; empty fields left out as proto3 JSON does); it refuses `filter` and
 * `orderBy`, which this server does not implement, rather than ignore them.
 *
 * destroy schedules destruction destroyScheduledDuration ahead (default 30 days, as the service);
 * a key created with a shorter duration, "0s" included, is a test-only knob (the service asks for at
 * least a day): its versions become DESTROYED, their key material dropped, once the time has passed.
 */
import { createCipheriv, createDecipheriv, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { crc32c } from '../../../src/kms/_crc32c.js';
import { startLocalServer, type LocalResponse } from './_local-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** http://127.0.0.1:<port> of the local Cloud KMS. */
    gcpKmsUrl: string;
    /** The one bearer token it accepts. */
    gcpAccessToken: string;
  }
}

type VersionState = 'ENABLED' | 'DISABLED' | 'DESTROY_SCHEDULED' | 'DESTROYED';

interface Version {
  id: number;
  state: VersionState;
  /** Dropped when the version is destroyed. */
  material: Buffer | undefined;
  createTime: string;
  destroyAt?: number;
  destroyEventTime?: string;
}

interface CryptoKey {
  name: string;
  /** Written into ciphertexts: tells "another key" from "a damaged ciphertext". */
  tag: Buffer;
  createTime: string;
  destroyScheduledMs: number;
  primary: number | undefined;
  versions: Map<number, Version>;
  nextVersion: number;
  labels: Record<string, string>;
}

const ALGORITHM = 'GOOGLE_SYMMETRIC_ENCRYPTION';
const FORMAT = 0x01;
const KEY_TAG_BYTES = 16;
const HEADER_BYTES = 1 + KEY_TAG_BYTES + 4;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const MAX_DATA_BYTES = 64 * 1024;
const DEFAULT_DESTROY_SCHEDULED_MS = 30 * 24 * 3600 * 1000;
/** The server's own page size when a list names none (the service "picks an appropriate default"); small, so paging is exercised. */
const LIST_DEFAULT_PAGE_SIZE = 25;
const LIST_MAX_PAGE_SIZE = 1000;
const ID = /^[A-Za-z0-9_-]{1,63}$/;
const LOCATION_PATH = /^projects\/[^/:]+\/locations\/[^/:]+$/;
const RING_PATH = /^projects\/[^/:]+\/locations\/[^/:]+\/keyRings\/[^/:]+$/;
const KEY_PATH = /^(projects\/[^/:]+\/locations\/[^/:]+\/keyRings\/[^/:]+)\/cryptoKeys\/([^/:]+)$/;
const VERSION_PATH = /^(projects\/[^/:]+\/locations\/[^/:]+\/keyRings\/[^/:]+\/cryptoKeys\/[^/:]+)\/cryptoKeyVersions\/([^/:]+)$/;
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

class RpcError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly status: string,
    message: string,
  ) {
    super(message);
  }
}

function rpcStatus(httpStatus: number, status: string, message: string): LocalResponse {
  return {
    status: httpStatus,
    headers: { 'content-type': 'application/json; charset=UTF-8' },
    body: JSON.stringify({ error: { code: httpStatus, message, status } }, null, 2),
  };
}

function ok(body: unknown): LocalResponse {
  return { status: 200, headers: { 'content-type': 'application/json; charset=UTF-8' }, body: JSON.stringify(body) };
}

const invalid = (message: string): RpcError => new RpcError(400, 'INVALID_ARGUMENT', message);
const notFound = (what: string): RpcError => new RpcError(404, 'NOT_FOUND', `${what} not found.`);
const precondition = (message: string): RpcError => new RpcError(400, 'FAILED_PRECONDITION', message);
const denied = (permission: string, resource: string): RpcError =>
  new RpcError(403, 'PERMISSION_DENIED', `Permission '${permission}' denied on resource '${resource}' (or it may not exist).`);

/** Parses a JSON body and refuses fields the method does not have, as the service does. */
function parseBody(body: Buffer, allowed: readonly string[]): Record<string, unknown> {
  if (body.length === 0) return {};
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw invalid('Invalid JSON payload received. Unexpected token.');
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw invalid('Invalid JSON payload received. Expected an object.');
  for (const name of Object.keys(json)) {
    if (!allowed.includes(name)) throw invalid(`Invalid JSON payload received. Unknown name "${name}": Cannot find field.`);
  }
  return json as Record<string, unknown>;
}

function bytesField(body: Record<string, unknown>, field: string, required: boolean): Buffer {
  const value = body[field];
  if (value === undefined || value === '') {
    if (required) throw invalid(`${field}: Required field not set.`);
    return Buffer.alloc(0);
  }
  if (typeof value !== 'string' || !BASE64.test(value)) throw invalid(`Invalid value at '${field}' (TYPE_BYTES), Base64 decoding failed.`);
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length > MAX_DATA_BYTES) throw invalid(`The ${field} must be no larger than 64KiB.`);
  return bytes;
}

/** Checks an optional *Crc32c request field (int64 as a decimal string or a number); true when it was given. */
function checkCrc(body: Record<string, unknown>, crcField: string, dataField: string, data: Buffer): boolean {
  const value = body[crcField];
  if (value === undefined || value === null) return false;
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0xffffffff) throw invalid(`Invalid value at '${crcField}' (type.googleapis.com/google.protobuf.Int64Value).`);
  if (crc32c(data) !== n) throw invalid(`The checksum in field ${crcField} did not match the data in field ${dataField}.`);
  return true;
}

function durationMs(value: unknown): number {
  const m = typeof value === 'string' ? /^(\d+)(\.\d{1,9})?s$/.exec(value) : null;
  if (!m) throw invalid("Invalid value at 'crypto_key.destroy_scheduled_duration' (type.googleapis.com/google.protobuf.Duration).");
  return Math.round(Number(`${m[1]}${m[2] ?? ''}`) * 1000);
}

export interface GcpKmsServer {
  url: string;
  accessToken: string;
  close(): Promise<void>;
}

/** Starts the local Cloud KMS on 127.0.0.1; it accepts `accessToken` (default: a fresh random one). */
export async function startGcpKmsServer(options: { accessToken?: string } = {}): Promise<GcpKmsServer> {
  const accessToken = options.accessToken ?? `ya29.local-${randomBytes(24).toString('base64url')}`;
  const expectedAuth = Buffer.from(`Bearer ${accessToken}`);
  const rings = new Map<string, { name: string; createTime: string }>();
  const keys = new Map<string, CryptoKey>();

  const versionName = (key: CryptoKey, v: Version): string => `${key.name}/cryptoKeyVersions/${v.id}`;

  /** Carries out destructions whose time has come. */
  const settle = (v: Version): Version => {
    if (v.state === 'DESTROY_SCHEDULED' && v.destroyAt !== undefined && v.destroyAt <= Date.now()) {
      v.state = 'DESTROYED';
      v.material?.fill(0);
      v.material = undefined;
      v.destroyEventTime = new Date().toISOString();
    }
    return v;
  };

  const versionJson = (key: CryptoKey, v: Version): Record<string, unknown> => {
    settle(v);
    return {
      name: versionName(key, v),
      state: v.state,
      protectionLevel: 'SOFTWARE',
      algorithm: ALGORITHM,
      createTime: v.createTime,
      generateTime: v.createTime,
      // As the service: destroyTime only while DESTROY_SCHEDULED, destroyEventTime once DESTROYED.
      ...(v.state === 'DESTROY_SCHEDULED' && v.destroyAt !== undefined ? { destroyTime: new Date(v.destroyAt).toISOString() } : {}),
      ...(v.destroyEventTime !== undefined ? { destroyEventTime: v.destroyEventTime } : {}),
    };
  };

  const keyJson = (key: CryptoKey): Record<string, unknown> => {
    const primary = key.primary === undefined ? undefined : key.versions.get(key.primary);
    return {
      name: key.name,
      ...(primary ? { primary: versionJson(key, primary) } : {}),
      purpose: 'ENCRYPT_DECRYPT',
      createTime: key.createTime,
      versionTemplate: { protectionLevel: 'SOFTWARE', algorithm: ALGORITHM },
      destroyScheduledDuration: `${key.destroyScheduledMs / 1000}s`,
      ...(Object.keys(key.labels).length > 0 ? { labels: key.labels } : {}),
    };
  };

  const newVersion = (key: CryptoKey): Version => {
    const v: Version = { id: key.nextVersion++, state: 'ENABLED', material: randomBytes(32), createTime: new Date().toISOString() };
    key.versions.set(v.id, v);
    return v;
  };

  const findKey = (name: string): CryptoKey => {
    const key = keys.get(name);
    if (!key) throw notFound(`CryptoKey ${name}`);
    return key;
  };

  const findVersion = (name: string): { key: CryptoKey; version: Version } => {
    const m = VERSION_PATH.exec(name);
    const key = m ? keys.get(m[1]!) : undefined;
    const version = key && m && /^[1-9]\d*$/.test(m[2]!) ? key.versions.get(Number(m[2])) : undefined;
    if (!key || !version) throw notFound(`CryptoKeyVersion ${name}`);
    return { key, version: settle(version) };
  };

  const requireEnabled = (key: CryptoKey, v: Version): void => {
    if (v.state !== 'ENABLED') throw precondition(`${versionName(key, v)} is not enabled, current state is: ${v.state}.`);
  };

  const encrypt = (name: string, body: Record<string, unknown>): LocalResponse => {
    const keyMatch = KEY_PATH.test(name);
    const keyName = keyMatch ? name : (VERSION_PATH.exec(name)?.[1] ?? name);
    const key = keys.get(keyName);
    if (!key) throw denied('cloudkms.cryptoKeyVersions.useToEncrypt', name);
    let version: Version;
    if (keyMatch) {
      if (key.primary === undefined) throw precondition(`${key.name} has no primary CryptoKeyVersion.`);
      version = settle(key.versions.get(key.primary)!);
    } else {
      version = findVersion(name).version;
    }
    const plaintext = bytesField(body, 'plaintext', true);
    const aad = bytesField(body, 'additionalAuthenticatedData', false);
    const verifiedPlaintext = checkCrc(body, 'plaintextCrc32c', 'plaintext', plaintext);
    const verifiedAad = checkCrc(body, 'additionalAuthenticatedDataCrc32c', 'additional_authenticated_data', aad);
    requireEnabled(key, version);
    const header = Buffer.alloc(HEADER_BYTES);
    header[0] = FORMAT;
    key.tag.copy(header, 1);
    header.writeUInt32BE(version.id, 1 + KEY_TAG_BYTES);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', version.material!, iv);
    cipher.setAAD(Buffer.concat([header, aad]));
    const ciphertext = Buffer.concat([header, iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    plaintext.fill(0);
    return ok({
      name: versionName(key, version),
      ciphertext: ciphertext.toString('base64'),
      ciphertextCrc32c: String(crc32c(ciphertext)),
      verifiedPlaintextCrc32c: verifiedPlaintext,
      verifiedAdditionalAuthenticatedDataCrc32c: verifiedAad,
      protectionLevel: 'SOFTWARE',
    });
  };

  const decrypt = (name: string, body: Record<string, unknown>): LocalResponse => {
    const key = keys.get(name);
    if (!key) throw denied('cloudkms.cryptoKeyVersions.useToDecrypt', name);
    const ciphertext = bytesField(body, 'ciphertext', true);
    const aad = bytesField(body, 'additionalAuthenticatedData', false);
    checkCrc(body, 'ciphertextCrc32c', 'ciphertext', ciphertext);
    checkCrc(body, 'additionalAuthenticatedDataCrc32c', 'additional_authenticated_data', aad);
    const failed = invalid('Decryption failed: the ciphertext is invalid.');
    if (ciphertext.length < HEADER_BYTES + IV_BYTES + TAG_BYTES || ciphertext[0] !== FORMAT) throw failed;
    if (!timingSafeEqual(ciphertext.subarray(1, 1 + KEY_TAG_BYTES), key.tag)) throw invalid("Decryption failed: verify that 'name' refers to the correct CryptoKey.");
    const found = key.versions.get(ciphertext.readUInt32BE(1 + KEY_TAG_BYTES));
    if (!found) throw failed;
    const version = settle(found);
    requireEnabled(key, version);
    const header = ciphertext.subarray(0, HEADER_BYTES);
    const iv = ciphertext.subarray(HEADER_BYTES, HEADER_BYTES + IV_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', version.material!, iv);
    decipher.setAAD(Buffer.concat([header, aad]));
    decipher.setAuthTag(ciphertext.subarray(ciphertext.length - TAG_BYTES));
    let plaintext: Buffer;
    try {
      plaintext = Buffer.concat([decipher.update(ciphertext.subarray(HEADER_BYTES + IV_BYTES, ciphertext.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw failed;
    }
    const answer = ok({
      plaintext: plaintext.toString('base64'),
      plaintextCrc32c: String(crc32c(plaintext)),
      usedPrimary: version.id === key.primary,
      protectionLevel: 'SOFTWARE',
    });
    plaintext.fill(0);
    return answer;
  };

  const createKeyRing = (parent: string, query: URLSearchParams, body: Buffer): LocalResponse => {
    if (!LOCATION_PATH.test(parent)) throw notFound(`Location ${parent}`);
    const id = query.get('keyRingId') ?? '';
    if (!ID.test(id)) throw invalid('key_ring_id must match [a-zA-Z0-9_-]{1,63}.');
    parseBody(body, ['name', 'createTime']);
    const name = `${parent}/keyRings/${id}`;
    if (rings.has(name)) throw new RpcError(409, 'ALREADY_EXISTS', `KeyRing ${name} already exists.`);
    const ring = { name, createTime: new Date().toISOString() };
    rings.set(name, ring);
    return ok(ring);
  };

  const createCryptoKey = (parent: string, query: URLSearchParams, body: Buffer): LocalResponse => {
    if (!rings.has(parent)) throw notFound(`KeyRing ${parent}`);
    const id = query.get('cryptoKeyId') ?? '';
    if (!ID.test(id)) throw invalid('crypto_key_id must match [a-zA-Z0-9_-]{1,63}.');
    const req = parseBody(body, ['purpose', 'versionTemplate', 'labels', 'destroyScheduledDuration', 'rotationPeriod', 'nextRotationTime', 'importOnly']);
    if (req.purpose !== 'ENCRYPT_DECRYPT') throw invalid(`This local Cloud KMS supports purpose ENCRYPT_DECRYPT only; got ${String(req.purpose)}.`);
    const template = req.versionTemplate as { algorithm?: unknown; protectionLevel?: unknown } | undefined;
    if (template?.algorithm !== undefined && template.algorithm !== ALGORITHM) throw invalid(`The algorithm ${String(template.algorithm)} is not valid for purpose ENCRYPT_DECRYPT.`);
    if (template?.protectionLevel !== undefined && template.protectionLevel !== 'SOFTWARE') throw invalid('This local Cloud KMS supports protection level SOFTWARE only.');
    const name = `${parent}/cryptoKeys/${id}`;
    if (keys.has(name)) throw new RpcError(409, 'ALREADY_EXISTS', `CryptoKey ${name} already exists.`);
    const key: CryptoKey = {
      name,
      tag: randomBytes(KEY_TAG_BYTES),
      createTime: new Date().toISOString(),
      destroyScheduledMs: req.destroyScheduledDuration === undefined ? DEFAULT_DESTROY_SCHEDULED_MS : durationMs(req.destroyScheduledDuration),
      primary: undefined,
      versions: new Map(),
      nextVersion: 1,
      labels: (req.labels ?? {}) as Record<string, string>,
    };
    if (query.get('skipInitialVersionCreation') !== 'true') key.primary = newVersion(key).id;
    keys.set(name, key);
    return ok(keyJson(key));
  };

  const updatePrimaryVersion = (name: string, body: Buffer): LocalResponse => {
    const key = findKey(name);
    const req = parseBody(body, ['cryptoKeyVersionId']);
    const id = typeof req.cryptoKeyVersionId === 'string' && /^[1-9]\d*$/.test(req.cryptoKeyVersionId) ? Number(req.cryptoKeyVersionId) : undefined;
    const version = id === undefined ? undefined : key.versions.get(id);
    if (!version) throw notFound(`CryptoKeyVersion ${name}/cryptoKeyVersions/${String(req.cryptoKeyVersionId)}`);
    requireEnabled(key, settle(version));
    key.primary = version.id;
    return ok(keyJson(key));
  };

  const patchVersion = (name: string, query: URLSearchParams, body: Buffer): LocalResponse => {
    const { key, version } = findVersion(name);
    const mask = (query.get('updateMask') ?? '').split(',').filter((f) => f !== '');
    if (mask.length === 0 || mask.some((f) => f !== 'state')) throw invalid('update_mask must be "state" (the only field this local Cloud KMS updates).');
    const req = parseBody(body, ['name', 'state']);
    if (req.state !== 'ENABLED' && req.state !== 'DISABLED') throw invalid('state can only be updated to ENABLED or DISABLED.');
    if (version.state !== 'ENABLED' && version.state !== 'DISABLED') {
      throw precondition(`${versionName(key, version)} is not in state ENABLED or DISABLED, current state is: ${version.state}.`);
    }
    version.state = req.state;
    return ok(versionJson(key, version));
  };

  const destroyVersion = (name: string): LocalResponse => {
    const { key, version } = findVersion(name);
    if (version.state !== 'ENABLED' && version.state !== 'DISABLED') {
      throw precondition(`${versionName(key, version)} is not in state ENABLED or DISABLED, current state is: ${version.state}.`);
    }
    version.state = 'DESTROY_SCHEDULED';
    version.destroyAt = Date.now() + key.destroyScheduledMs;
    return ok(versionJson(key, version));
  };

  const listVersions = (parent: string, query: URLSearchParams): LocalResponse => {
    if (!KEY_PATH.test(parent) || !keys.has(parent)) throw denied('cloudkms.cryptoKeyVersions.list', parent);
    const key = keys.get(parent)!;
    for (const name of query.keys()) {
      if (!['pageSize', 'pageToken', 'view', 'filter', 'orderBy'].includes(name)) throw invalid(`Invalid JSON payload received. Unknown name "${name}": Cannot bind query parameter.`);
    }
    if (query.has('filter') || query.has('orderBy')) throw invalid('This local Cloud KMS does not implement filter or orderBy for cryptoKeyVersions.list.');
    const view = query.get('view');
    if (view !== null && view !== 'CRYPTO_KEY_VERSION_VIEW_UNSPECIFIED' && view !== 'FULL') throw invalid(`Invalid value at 'view' (type.googleapis.com/google.cloud.kms.v1.CryptoKeyVersion.CryptoKeyVersionView), "${view}"`);
    const sizeText = query.get('pageSize');
    const size = sizeText === null ? LIST_DEFAULT_PAGE_SIZE : Number(sizeText);
    if (!Number.isInteger(size) || size < 0) throw invalid("Invalid value at 'page_size' (TYPE_INT32).");
    const pageSize = Math.min(size === 0 ? LIST_DEFAULT_PAGE_SIZE : size, LIST_MAX_PAGE_SIZE);
    const token = query.get('pageToken') ?? '';
    let start = 0;
    if (token !== '') {
      // Opaque to clients; here the key and the offset, so a token of another key is refused.
      const decoded = /^([0-9a-f]{32}):(\d+)$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
      if (!decoded || decoded[1] !== key.tag.toString('hex')) throw invalid('Invalid page token.');
      start = Number(decoded[2]);
    }
    const all = [...key.versions.values()].sort((a, b) => a.id - b.id);
    const page = all.slice(start, start + pageSize).map((v) => versionJson(key, v));
    const next = start + pageSize < all.length ? Buffer.from(`${key.tag.toString('hex')}:${start + pageSize}`).toString('base64url') : '';
    return ok({
      ...(page.length > 0 ? { cryptoKeyVersions: page } : {}),
      ...(next !== '' ? { nextPageToken: next } : {}),
      ...(all.length > 0 ? { totalSize: all.length } : {}),
    });
  };

  const restoreVersion = (name: string): LocalResponse => {
    const { key, version } = findVersion(name);
    if (version.state !== 'DESTROY_SCHEDULED') throw precondition(`${versionName(key, version)} is not in state DESTROY_SCHEDULED, current state is: ${version.state}.`);
    version.state = 'DISABLED';
    delete version.destroyAt;
    return ok(versionJson(key, version));
  };

  const route = (method: string, path: string, body: Buffer): LocalResponse => {
    const url = new URL(path, 'http://local');
    if (!url.pathname.startsWith('/v1/')) throw notFound('Resource');
    let decoded: string;
    try {
      decoded = decodeURIComponent(url.pathname.slice(4));
    } catch {
      throw notFound('Resource');
    }
    const [resource = '', verb, ...more] = decoded.split(':');
    if (more.length > 0) throw notFound('Resource');
    const q = url.searchParams;
    if (method === 'POST' && verb === undefined && resource.endsWith('/keyRings')) return createKeyRing(resource.slice(0, -'/keyRings'.length), q, body);
    if (method === 'POST' && verb === undefined && resource.endsWith('/cryptoKeys')) return createCryptoKey(resource.slice(0, -'/cryptoKeys'.length), q, body);
    if (method === 'POST' && verb === undefined && resource.endsWith('/cryptoKeyVersions')) {
      parseBody(body, ['state']);
      const key = findKey(resource.slice(0, -'/cryptoKeyVersions'.length));
      return ok(versionJson(key, newVersion(key)));
    }
    if (method === 'GET' && verb === undefined && resource.endsWith('/cryptoKeyVersions')) return listVersions(resource.slice(0, -'/cryptoKeyVersions'.length), q);
    if (method === 'GET' && verb === undefined && RING_PATH.test(resource)) {
      const ring = rings.get(resource);
      if (!ring) throw notFound(`KeyRing ${resource}`);
      return ok(ring);
    }
    if (method === 'GET' && verb === undefined && KEY_PATH.test(resource)) {
      if (!keys.has(resource)) throw denied('cloudkms.cryptoKeys.get', resource);
      return ok(keyJson(keys.get(resource)!));
    }
    if (method === 'GET' && verb === undefined && VERSION_PATH.test(resource)) {
      const { key, version } = findVersion(resource);
      return ok(versionJson(key, version));
    }
    if (method === 'PATCH' && verb === undefined && VERSION_PATH.test(resource)) return patchVersion(resource, q, body);
    if (method === 'POST' && verb === 'encrypt' && (KEY_PATH.test(resource) || VERSION_PATH.test(resource))) {
      return encrypt(resource, parseBody(body, ['plaintext', 'additionalAuthenticatedData', 'plaintextCrc32c', 'additionalAuthenticatedDataCrc32c']));
    }
    if (method === 'POST' && verb === 'decrypt' && KEY_PATH.test(resource)) {
      return decrypt(resource, parseBody(body, ['ciphertext', 'additionalAuthenticatedData', 'ciphertextCrc32c', 'additionalAuthenticatedDataCrc32c']));
    }
    if (method === 'POST' && verb === 'updatePrimaryVersion' && KEY_PATH.test(resource)) return updatePrimaryVersion(resource, body);
    if (method === 'POST' && verb === 'destroy' && VERSION_PATH.test(resource)) return destroyVersion(resource);
    if (method === 'POST' && verb === 'restore' && VERSION_PATH.test(resource)) return restoreVersion(resource);
    throw notFound(`${method} ${url.pathname}: resource or method`);
  };

  const server = await startLocalServer({
    name: 'local Cloud KMS',
    handler: ({ method, path, headers, body }) => {
      const auth = Buffer.from(String(headers.authorization ?? ''));
      if (auth.length !== expectedAuth.length || !timingSafeEqual(auth, expectedAuth)) {
        return rpcStatus(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.');
      }
      try {
        return route(method, path, body);
      } catch (err) {
        if (err instanceof RpcError) return rpcStatus(err.httpStatus, err.status, err.message);
        throw err;
      }
    },
    throttleResponse: () => rpcStatus(429, 'RESOURCE_EXHAUSTED', "Quota exceeded for quota metric 'Cryptographic requests' and limit 'Cryptographic requests per minute'."),
    serverErrorResponse: () => rpcStatus(500, 'INTERNAL', 'Internal error encountered.'),
  });
  return { url: server.url, accessToken, close: () => server.close() };
}

/** For test/kms/servers/global-setup.ts. */
export async function startForTests(): Promise<{ provide: Record<string, string>; close(): Promise<void> }> {
  const server = await startGcpKmsServer({ accessToken: `ya29.vecseal-test-${randomUUID()}` });
  return { provide: { gcpKmsUrl: server.url, gcpAccessToken: server.accessToken }, close: () => server.close() };
}
