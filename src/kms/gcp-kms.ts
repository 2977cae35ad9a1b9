/**
 * KEKs in Google Cloud KMS, through its REST API v1 (https://cloud.google.com/kms/docs/reference/rest):
 * cryptoKeys.encrypt and cryptoKeys.decrypt on a symmetric key (purpose ENCRYPT_DECRYPT, algorithm
 * GOOGLE_SYMMETRIC_ENCRYPTION) with the wrap context as additionalAuthenticatedData, and
 * cryptoKeys.get for describe. Runs in browsers and Node: fetch only.
 *
 * Integrity in transit follows Google's "Verifying end-to-end data integrity" guide: every request
 * carries the CRC-32C of its byte fields (the service refuses a mismatch), an encrypt answer must
 * confirm them (verified*Crc32c), and every answer must carry the CRC-32C of the bytes it returns; anything else is refused as a ProviderError of kind
 * 'protocol'. Google suggests a few retries after a mismatch; this provider leaves that to the caller
 * (the base retries only throttling and server errors), since a mismatch that repeats means a broken
 * path or proxy, not a busy service.
 *
 * Versions: encrypt uses the key's primary version and names it in the answer (recorded as the
 * wrapped key's kekVersion); decrypt takes the key name and finds the version inside the ciphertext,
 * so DEKs wrapped under older versions keep opening after a rotation while those versions stay enabled.
 *
 * destroyKek lists the key's versions (cryptoKeyVersions.list) and destroys each that is ENABLED or
 * DISABLED (cryptoKeyVersions.destroy). Cloud KMS schedules destruction for the key's
 * destroyScheduledDuration (30 days unless set at creation; not settable per call), in which a
 * version is DESTROY_SCHEDULED and can be restored; encrypt and decrypt then answer
 * FAILED_PRECONDITION, reported as KeyStateError 'pending-deletion'. The result is 'pending-deletion'
 * with the latest destroyTime while any version is scheduled, 'destroyed' once every version is
 * DESTROYED. The key itself (its name) is never deleted: Cloud KMS has no such call.
 *
 * Credentials come from the caller: getAccessToken() is asked for an OAuth 2 access token before
 * every request (so the caller's own cache and refresh decide its lifetime), sent as a bearer token
 * and never kept or put in an error.
 */
import { AuthenticationError, FormatError, InvalidInputError, KeyStateError, ProviderError, type KekState } from '../errors.js';
import { fromBase64, toBase64 } from './_base64.js';
import { crc32c, CRC32C_MAX } from './_crc32c.js';
import { encodeWrapContext } from './_envelope.js';
import { httpFailure, sendJson, serviceMessage } from './_http.js';
import { latestIso } from './_dates.js';
import { BaseKeyProvider, type Attempt, type KekDescription, type ProviderOptions, type RawDestruction, type RawWrapped, type WrapContext, type WrappedKey } from './provider.js';

/** The public Cloud KMS endpoint; regional and private endpoints are set with `endpoint`. */
export const GCP_KMS_ENDPOINT = 'https://cloudkms.googleapis.com';

/** The algorithm of symmetric ENCRYPT_DECRYPT key versions, recorded in wrapped keys. */
export const GCP_KMS_ALGORITHM = 'GOOGLE_SYMMETRIC_ENCRYPTION';

const ID = 'gcp-kms';
/** projects/P/locations/L/keyRings/R/cryptoKeys/K; ring and key ids as the API allows them ([a-zA-Z0-9_-]{1,63}). */
const KEY_NAME = /^projects\/[A-Za-z0-9._:-]+\/locations\/[A-Za-z0-9_-]+\/keyRings\/[A-Za-z0-9_-]{1,63}\/cryptoKeys\/[A-Za-z0-9_-]{1,63}$/;
/** Visible ASCII only: anything else in an Authorization header is a caller mistake (or an injection). */
const TOKEN = /^[\x21-\x7e]+$/;
/** Google's throttling status (HTTP 429); 5xx and UNAVAILABLE/INTERNAL are retried as server errors. */
const THROTTLING_CODES = ['RESOURCE_EXHAUSTED'] as const;

export interface GcpKmsProviderOptions extends ProviderOptions {
  /** The CryptoKey: projects/P/locations/L/keyRings/R/cryptoKeys/K (not a version: encrypt uses the primary). */
  keyName: string;
  /**
   * Returns an OAuth 2 access token with the cloudkms (or cloud-platform) scope. Called before every
   * request, retries included; cache and refresh in it as you like.
   */
  getAccessToken: () => Promise<string>;
  /** Default https://cloudkms.googleapis.com (no trailing path; /v1/... is appended). */
  endpoint?: string;
  /** Default globalThis.fetch. */
  fetch?: typeof fetch;
}

type Json = Record<string, unknown>;

/** Version states whose key material exists and that destroy accepts. */
const DESTROYABLE = new Set(['ENABLED', 'DISABLED']);
/** Version states without key material that never get any. */
const WITHOUT_MATERIAL = new Set(['GENERATION_FAILED', 'IMPORT_FAILED']);
/** Pages a listing may take before the provider gives up (a key with more versions than this is not a KEK we made). */
const MAX_LIST_PAGES = 100;

/** How Cloud KMS names a CryptoKeyVersion state, as a KekState. */
function kekStateOf(state: unknown): KekState {
  switch (state) {
    case 'ENABLED':
      return 'enabled';
    case 'DISABLED':
      return 'disabled';
    case 'DESTROYED':
      return 'destroyed';
    case 'DESTROY_SCHEDULED':
      return 'pending-deletion';
    default:
      return 'unknown';
  }
}

/**
 * The version state a FAILED_PRECONDITION names ("... is not enabled, current state is: DISABLED."),
 * or undefined when the precondition is about something else.
 */
function refusedState(message: string): 'disabled' | 'destroyed' | 'pending-deletion' | undefined {
  if (/\bDESTROY_SCHEDULED\b/.test(message)) return 'pending-deletion';
  if (/\bDESTROYED\b/.test(message)) return 'destroyed';
  if (/\bDISABLED\b/.test(message)) return 'disabled';
  return undefined;
}

/** A CRC-32C from the JSON (proto3 writes int64 as a decimal string), or undefined. */
function crcFrom(value: unknown): number | undefined {
  const n = typeof value === 'string' && /^\d{1,10}$/.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= CRC32C_MAX ? n : undefined;
}

function protocolError(op: string, what: string): ProviderError {
  return new ProviderError(`${ID} ${op}: ${what}`, { kind: 'protocol' });
}

function checkEndpoint(endpoint: unknown): string {
  if (typeof endpoint !== 'string') throw new InvalidInputError('endpoint must be a string URL');
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new InvalidInputError('endpoint must be an absolute http(s) URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new InvalidInputError('endpoint must be an http(s) URL');
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new InvalidInputError('endpoint must not carry a query, fragment or credentials');
  }
  return url.href.replace(/\/+$/, '');
}

function checkOptions(options: GcpKmsProviderOptions): GcpKmsProviderOptions {
  if (options === null || typeof options !== 'object') throw new InvalidInputError('GcpKmsProvider needs options { keyName, getAccessToken }');
  if (typeof options.keyName !== 'string' || !KEY_NAME.test(options.keyName)) {
    throw new InvalidInputError('keyName must be a CryptoKey resource name: projects/P/locations/L/keyRings/R/cryptoKeys/K');
  }
  if (typeof options.getAccessToken !== 'function') throw new InvalidInputError('getAccessToken must be a function returning a promise of an OAuth 2 access token');
  if (options.fetch !== undefined && typeof options.fetch !== 'function') throw new InvalidInputError('fetch must be a function when given');
  return options;
}

/**
 * A KEK in Google Cloud KMS.
 *
 * generateDataKey is the base's (a random DEK here, then encrypt): Cloud KMS has no data-key call.
 * rewrap is the base's too, unwrap then wrap here with the DEK wiped after: Cloud KMS has no
 * re-encrypt, decrypt always uses the version named inside the ciphertext and encrypt always uses the
 * primary, so moving a DEK to the new primary version needs both calls.
 *
 * @example
 * const kek = new GcpKmsProvider({
 *   keyName: 'projects/acme/locations/europe-west1/keyRings/vecseal/cryptoKeys/kek',
 *   getAccessToken: async () => (await auth.getAccessToken()).token!,
 * });
 * const wrapped = await kek.wrap(dek, { dekId: 'd1', keyVersion: 1, collection: 'docs', tenant: '' });
 */
export class GcpKmsProvider extends BaseKeyProvider {
  readonly id = ID;
  /** The CryptoKey's resource name; wrapped keys record the version in kekVersion. */
  readonly kekId: string;
  readonly #endpoint: string;
  readonly #getAccessToken: () => Promise<string>;
  readonly #fetch: typeof fetch | undefined;

  /**
   * @param options keyName, getAccessToken, and optionally endpoint, fetch, timeoutMs, retry
   * @throws InvalidInputError for a key name that is not a CryptoKey resource name, a missing token
   *   supplier, or an endpoint that is not an http(s) URL
   */
  constructor(options: GcpKmsProviderOptions) {
    super(checkOptions(options));
    this.kekId = options.keyName;
    this.#endpoint = checkEndpoint(options.endpoint ?? GCP_KMS_ENDPOINT);
    this.#getAccessToken = options.getAccessToken;
    this.#fetch = options.fetch;
  }

  protected async wrapKey(dek: Uint8Array, context: WrapContext, attempt: Attempt): Promise<RawWrapped> {
    const aad = encodeWrapContext(context);
    // The DEK travels base64 in a JSON string, which cannot be wiped: true of every JSON KMS API.
    const out = await this.#call('encrypt', 'POST', `${this.kekId}:encrypt`, attempt, {
      plaintext: toBase64(dek),
      additionalAuthenticatedData: toBase64(aad),
      plaintextCrc32c: String(crc32c(dek)),
      additionalAuthenticatedDataCrc32c: String(crc32c(aad)),
    });
    // Google: a false verified* field means the checksum we sent was not checked; do not trust the answer.
    if (out.verifiedPlaintextCrc32c !== true || out.verifiedAdditionalAuthenticatedDataCrc32c !== true) {
      throw protocolError('encrypt', 'the service did not confirm the CRC-32C of the plaintext and AAD it received');
    }
    const version = out.name;
    if (typeof version !== 'string' || !this.#isVersionOfKey(version)) {
      throw protocolError('encrypt', `the answer names no version of ${this.kekId} as the one used`);
    }
    const ciphertext = this.#bytesField('encrypt', out, 'ciphertext');
    this.#checkCrc('encrypt', ciphertext, out.ciphertextCrc32c, 'ciphertext');
    return { bytes: ciphertext, algorithm: GCP_KMS_ALGORITHM, kekVersion: version };
  }

  protected async unwrapKey(wrapped: WrappedKey, context: WrapContext, attempt: Attempt): Promise<Uint8Array> {
    const aad = encodeWrapContext(context);
    // DecryptResponse has no verified* fields: the service refuses a request whose checksums do not match.
    const out = await this.#call('decrypt', 'POST', `${this.kekId}:decrypt`, attempt, {
      ciphertext: toBase64(wrapped.bytes),
      additionalAuthenticatedData: toBase64(aad),
      ciphertextCrc32c: String(crc32c(wrapped.bytes)),
      additionalAuthenticatedDataCrc32c: String(crc32c(aad)),
    });
    const plaintext = this.#bytesField('decrypt', out, 'plaintext');
    try {
      this.#checkCrc('decrypt', plaintext, out.plaintextCrc32c, 'plaintext');
    } catch (err) {
      plaintext.fill(0);
      throw err;
    }
    return plaintext;
  }

  protected async describeKey(attempt: Attempt): Promise<KekDescription> {
    const key = await this.#call('get', 'GET', this.kekId, attempt);
    if (key.purpose !== 'ENCRYPT_DECRYPT') {
      throw new ProviderError(`${ID} get: ${this.kekId} has purpose ${String(key.purpose)}; wrapping needs ENCRYPT_DECRYPT`, { kind: 'rejected' });
    }
    const primary = (key.primary !== null && typeof key.primary === 'object' ? key.primary : undefined) as Json | undefined;
    const template = (key.versionTemplate !== null && typeof key.versionTemplate === 'object' ? key.versionTemplate : {}) as Json;
    const details: Record<string, string> = { purpose: 'ENCRYPT_DECRYPT' };
    for (const [name, value] of [
      ['protectionLevel', primary?.protectionLevel ?? template.protectionLevel],
      ['createTime', key.createTime],
      ['primaryState', primary?.state],
      ['primaryCreateTime', primary?.createTime],
      ['rotationPeriod', key.rotationPeriod],
      ['nextRotationTime', key.nextRotationTime],
      ['destroyScheduledDuration', key.destroyScheduledDuration],
    ] as const) {
      if (typeof value === 'string') details[name] = value;
    }
    const version = typeof primary?.name === 'string' ? primary.name : undefined;
    return {
      provider: ID,
      kekId: this.kekId,
      kekVersion: version,
      // A key with no primary version (created with skipInitialVersionCreation) cannot encrypt.
      state: primary === undefined ? 'unknown' : kekStateOf(primary.state),
      algorithm: typeof primary?.algorithm === 'string' ? primary.algorithm : GCP_KMS_ALGORITHM,
      canUnwrap: true,
      details,
    };
  }

  /** Destroys every version that has key material; idempotent (scheduled and destroyed versions are left as they are). */
  protected override async destroyKekKey(attempt: Attempt): Promise<RawDestruction> {
    const versions = await this.#listVersions(attempt);
    for (const [i, v] of versions.entries()) {
      if (!DESTROYABLE.has(v.state)) continue;
      try {
        versions[i] = this.#versionState('destroy', await this.#call('destroy', 'POST', `${v.name}:destroy`, attempt, {}));
      } catch (err) {
        // FAILED_PRECONDITION: destroyed or scheduled meanwhile (another caller, or our own attempt whose answer was lost).
        if (!(err instanceof KeyStateError)) throw err;
        versions[i] = this.#versionState('get', await this.#call('get', 'GET', v.name, attempt));
      }
    }
    const waiting = versions.filter((v) => v.state !== 'DESTROY_SCHEDULED' && v.state !== 'DESTROYED' && !WITHOUT_MATERIAL.has(v.state));
    if (waiting.length > 0) {
      // PENDING_GENERATION / PENDING_IMPORT: material may still arrive, so the key cannot be called destroyed yet.
      throw new ProviderError(`${ID} destroy: version ${waiting[0]!.name} is ${waiting[0]!.state} and cannot be destroyed yet`, { kind: 'unavailable' });
    }
    const scheduled = versions.filter((v) => v.state === 'DESTROY_SCHEDULED');
    const gone = versions.filter((v) => v.state === 'DESTROY_SCHEDULED' || v.state === 'DESTROYED').map((v) => v.name);
    if (scheduled.length === 0) return { state: 'destroyed', versions: gone };
    return { state: 'pending-deletion', deletionDate: latestIso(scheduled.map((v) => v.destroyTime)), versions: gone };
  }

  /** Every version of the key (cryptoKeyVersions.list, page by page), oldest first. */
  async #listVersions(attempt: Attempt): Promise<{ name: string; state: string; destroyTime?: string | undefined }[]> {
    const out: { name: string; state: string; destroyTime?: string | undefined }[] = [];
    let pageToken = '';
    for (let page = 0; ; page++) {
      if (page === MAX_LIST_PAGES) throw protocolError('list', `the listing of ${this.kekId}'s versions did not end after ${MAX_LIST_PAGES} pages`);
      const query = pageToken === '' ? '' : `?pageToken=${encodeURIComponent(pageToken)}`;
      const json = await this.#call('list', 'GET', `${this.kekId}/cryptoKeyVersions${query}`, attempt);
      // proto3 JSON leaves out an empty list.
      const items = json.cryptoKeyVersions ?? [];
      if (!Array.isArray(items)) throw protocolError('list', 'cryptoKeyVersions is not a list');
      for (const item of items) out.push(this.#versionState('list', item));
      const next = json.nextPageToken;
      if (next === undefined || next === '') break;
      if (typeof next !== 'string' || next === pageToken) throw protocolError('list', 'the answer has an unusable nextPageToken');
      pageToken = next;
    }
    return out.sort((a, b) => Number(a.name.slice(a.name.lastIndexOf('/') + 1)) - Number(b.name.slice(b.name.lastIndexOf('/') + 1)));
  }

  /** A CryptoKeyVersion's name, state and destroyTime, checked to be a version of this key. */
  #versionState(op: string, json: unknown): { name: string; state: string; destroyTime?: string | undefined } {
    const v = (json !== null && typeof json === 'object' ? json : {}) as Json;
    if (typeof v.name !== 'string' || !this.#isVersionOfKey(v.name)) throw protocolError(op, `the answer names no version of ${this.kekId}`);
    if (typeof v.state !== 'string') throw protocolError(op, `the answer gives no state for ${v.name}`);
    return { name: v.name, state: v.state, destroyTime: typeof v.destroyTime === 'string' ? v.destroyTime : undefined };
  }

  /** Versions belong to the key: any version of this CryptoKey can be decrypted through it. */
  protected override ownsKek(wrapped: WrappedKey): boolean {
    return wrapped.kekId === this.kekId && (wrapped.kekVersion === undefined || this.#isVersionOfKey(wrapped.kekVersion));
  }

  #isVersionOfKey(name: string): boolean {
    const prefix = `${this.kekId}/cryptoKeyVersions/`;
    return name.startsWith(prefix) && /^[1-9]\d*$/.test(name.slice(prefix.length));
  }

  async #token(op: string): Promise<string> {
    let token: unknown;
    try {
      token = await this.#getAccessToken();
    } catch (cause) {
      throw new ProviderError(`${ID} ${op}: the access-token supplier failed`, { cause, kind: 'rejected' });
    }
    if (typeof token !== 'string' || !TOKEN.test(token)) {
      throw new ProviderError(`${ID} ${op}: the access-token supplier returned no usable token (expected a non-empty string of visible ASCII)`, { kind: 'rejected' });
    }
    return token;
  }

  /** One REST call; a non-2xx answer becomes the error the base and the caller expect. */
  async #call(op: string, method: 'GET' | 'POST', resource: string, attempt: Attempt, body?: Json): Promise<Json> {
    const token = await this.#token(op);
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await sendJson(ID, op, { url: `${this.#endpoint}/v1/${resource}`, method, headers, body, signal: attempt.signal, fetch: this.#fetch });
    if (response.status >= 200 && response.status < 300) {
      if (response.json === null || typeof response.json !== 'object' || Array.isArray(response.json)) {
        throw new ProviderError(`${ID} ${op}: the answer is not a JSON object (HTTP ${response.status})`, { kind: 'protocol', status: response.status });
      }
      return response.json as Json;
    }
    throw this.#failure(op, response.status, response.json);
  }

  /** Maps a google.rpc.Status answer ({ error: { code, status, message } }). */
  #failure(op: string, httpStatus: number, json: unknown): Error {
    const error = (json !== null && typeof json === 'object' ? (json as { error?: unknown }).error : undefined) as Json | undefined;
    const status = typeof error?.status === 'string' ? error.status : undefined;
    const message = typeof error?.message === 'string' ? error.message : '';
    // "Decryption failed: the ciphertext is invalid." / "... verify that 'name' refers to the correct CryptoKey.":
    // the bytes (or the AAD) do not open under this key. The base turns this into reason 'wrong-key'.
    if (op === 'decrypt' && status === 'INVALID_ARGUMENT' && /decryption failed/i.test(message)) {
      return new AuthenticationError(`${ID} decrypt: Cloud KMS refused the wrapped DEK (${status}: ${serviceMessage(message)})`);
    }
    if (status === 'FAILED_PRECONDITION') {
      const state = refusedState(message);
      if (state !== undefined) return new KeyStateError(`${ID} ${op}: the key version is ${state} (${serviceMessage(message)})`, { state });
    }
    return httpFailure(ID, op, httpStatus, status, message, THROTTLING_CODES);
  }

  #bytesField(op: string, out: Json, field: string): Uint8Array {
    const value = out[field];
    if (typeof value !== 'string' || value === '') throw protocolError(op, `the answer has no ${field}`);
    try {
      return fromBase64(value, field);
    } catch (err) {
      if (err instanceof FormatError) throw new ProviderError(`${ID} ${op}: the answer's ${field} is not base64`, { cause: err, kind: 'protocol' });
      throw err;
    }
  }

  /** Google: discard an answer whose CRC-32C does not match (corrupted in transit). The values stay out of the message: one is a DEK's. */
  #checkCrc(op: string, bytes: Uint8Array, field: unknown, name: string): void {
    const expected = crcFrom(field);
    if (expected === undefined) throw protocolError(op, `the answer has no valid ${name}Crc32c`);
    if (crc32c(bytes) !== expected) throw protocolError(op, `the ${name} in the answer does not match its ${name}Crc32c (corrupted in transit)`);
  }
}
