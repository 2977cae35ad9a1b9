/**
 * KEKs in HashiCorp Vault's Transit secrets engine, through its HTTP API
 * (https://developer.hashicorp.com/vault/api-docs/secret/transit): encrypt, decrypt, rewrap,
 * datakey and keys/:name, authenticated with X-Vault-Token (and X-Vault-Namespace on Vault
 * Enterprise / HCP). Runs in browsers and Node: fetch only.
 *
 * How the wrap context is bound (recorded as WrappedKey.algorithm, so unwrap never guesses):
 * - 'VAULT-TRANSIT-DERIVED' (option `derived: true`, for keys created with derived=true): the
 *   canonical context bytes are Vault's key-derivation `context`, so each context gets its own key
 *   inside Vault. encrypt, decrypt, datakey and rewrap all take `context`, so generateDataKey is one
 *   datakey call and rewrap / rewrapMany run inside Vault: the DEK never leaves it. Recommended.
 * - 'VAULT-TRANSIT-AD' (the default, for ordinary aes256-gcm96 / chacha20-poly1305 keys): the
 *   context bytes are the AEAD `associated_data` of encrypt and decrypt. Vault's rewrap and datakey
 *   endpoints take no associated_data (their parameter lists in the API docs; hashicorp/vault issues
 *   29532 and 31791), so in this mode generateDataKey draws the DEK here and encrypts it (still one
 *   round trip), and rewrap decrypts and re-encrypts through this process, wiping the DEK bytes.
 *
 * Versions: a ciphertext starts 'vault:vN:'; N is the wrapped key's kekVersion, and decrypt finds
 * the version there. Vault retires versions with the key's min_decryption_version (older ciphertexts
 * are refused: KeyStateError 'disabled') and min_encryption_version (older versions may not
 * encrypt). It has no switch that disables a whole key, and the latest version always encrypts, so
 * only a provider pinned to a version (`keyVersion`) can see its KEK refuse wraps. A deleted key
 * (DELETE keys/:name, allowed once deletion_allowed is set) answers "not found": for a wrapped key
 * that names it, KeyStateError 'destroyed'.
 *
 * destroyKek reads the key (its versions), sets deletion_allowed (keys/:name/config) and deletes it
 * (DELETE keys/:name): every version's material is gone at once, 'destroyed'. A key that is not
 * there any more is reported 'destroyed' too (a retried shred); so is one that never was, so the
 * provider must name the right Vault, mount and namespace. After its own destroyKek this provider
 * refuses wraps itself: Vault's encrypt creates a missing key for a token with the create
 * capability ("upsert"), which would bring the tenant's KEK back as a new, empty key.
 */
import { AbortedError, AuthenticationError, FormatError, InvalidInputError, KeyStateError, ProviderError, VecsealError, type KekState } from '../errors.js';
import { fromBase64, toBase64 } from './_base64.js';
import { encodeWrapContext } from './_envelope.js';
import { httpFailure, sendJson, serviceMessage, type HttpResponse } from './_http.js';
import {
  BaseKeyProvider,
  DEK_BYTES,
  sealWrappedKey,
  type Attempt,
  type KekDescription,
  type ProviderCallOptions,
  type ProviderOptions,
  type RawDestruction,
  type RawWrapped,
  type WrapContext,
  type WrappedKey,
} from './provider.js';

/** WrappedKey.algorithm when the context is Vault's key-derivation context (derived keys). */
export const VAULT_TRANSIT_DERIVED = 'VAULT-TRANSIT-DERIVED';
/** WrappedKey.algorithm when the context is the AEAD associated_data (non-derived keys). */
export const VAULT_TRANSIT_ASSOCIATED_DATA = 'VAULT-TRANSIT-AD';

const ID = 'vault-transit';
/** Items per batch_input request in rewrapMany; far below Vault's 32 MB request limit. */
export const VAULT_MAX_BATCH = 1000;
/** Vault's default version template 'vault:v{{version}}:' followed by standard base64. */
const CIPHERTEXT = /^vault:v([1-9]\d{0,8}):([A-Za-z0-9+/]+={0,2})$/;
/** Vault's GenericNameRegex for key names. */
const KEY_NAME = /^\w(?:[\w.@-]*\w)?$/;
/** Visible ASCII only: anything else in a header is a caller mistake (or an injection). */
const TOKEN = /^[\x21-\x7e]+$/;

const encoder = new TextEncoder();

export interface VaultTransitProviderOptions extends ProviderOptions {
  /** Vault's address, e.g. 'https://vault.example.com:8200' (without /v1). */
  address: string;
  /** The Transit key's name. */
  keyName: string;
  /** Where the Transit engine is mounted (default 'transit'). */
  mount?: string;
  /** A Vault token, or a function returning one; it is asked before every request, retries included. */
  token: string | (() => Promise<string>);
  /** Vault Enterprise / HCP namespace, sent as X-Vault-Namespace. */
  namespace?: string;
  /**
   * The key was created with derived=true: bind the context by key derivation (server-side rewrap,
   * one-call datakey). Default false: bind it as associated_data.
   */
  derived?: boolean;
  /**
   * Encrypt (wrap, datakey, rewrap) with this key version instead of the latest. Vault refuses it
   * once the key's min_encryption_version is above it. Decrypt always follows the ciphertext.
   */
  keyVersion?: number;
  /** Default globalThis.fetch. */
  fetch?: typeof fetch;
}

/** One wrapped DEK for rewrapMany, with the context it was wrapped under. */
export interface VaultRewrapItem {
  wrapped: WrappedKey;
  context: WrapContext;
}

/** rewrapMany's answer for one item, in input order. */
export type VaultRewrapResult = { ok: true; wrapped: WrappedKey } | { ok: false; error: VecsealError };

type Json = Record<string, unknown>;

/** An item that passed the local checks and goes to Vault. */
interface Prepared {
  index: number;
  context: WrapContext;
  algorithm: string;
  ciphertext: string;
  /** base64 of encodeWrapContext: `context` or `associated_data`, per algorithm. */
  binding: string;
}

interface BatchResult {
  ciphertext?: unknown;
  plaintext?: unknown;
  error?: unknown;
  reference?: unknown;
}

/** What a Vault error message says about the request, where it matters to the caller. */
type Refusal = 'authentication' | 'retired' | 'missing';

function refusalOf(message: string): Refusal | undefined {
  // ErrTooOld on decrypt; the key_version check on encrypt: both are Vault retiring a version.
  if (/disallowed by policy \(too old\)|less than the minimum encryption key version/.test(message)) return 'retired';
  // GCM tag failure (wrong key, wrong context, changed bytes) or a ciphertext Vault cannot parse.
  if (/message authentication failed|invalid ciphertext/.test(message)) return 'authentication';
  if (/key not found|no existing key named|policy not found/.test(message)) return 'missing';
  return undefined;
}

/** Vault's error body is { errors: [string, ...] }. */
function errorsOf(json: unknown): string {
  const errors = json !== null && typeof json === 'object' ? (json as { errors?: unknown }).errors : undefined;
  return Array.isArray(errors) ? errors.filter((e): e is string => typeof e === 'string').join('; ') : '';
}

function dataOf(op: string, json: unknown): Json {
  const data = json !== null && typeof json === 'object' ? (json as { data?: unknown }).data : undefined;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw protocolError(op, 'the answer has no data object');
  return data as Json;
}

function protocolError(op: string, what: string, status?: number): ProviderError {
  return new ProviderError(`${ID} ${op}: ${what}`, { kind: 'protocol', status });
}

/** The ciphertext string and its key version, or undefined if the bytes are not one. */
function parseCiphertext(bytes: Uint8Array): { text: string; version: number } | undefined {
  let text = '';
  for (const b of bytes) {
    if (b < 0x21 || b > 0x7e) return undefined;
    text += String.fromCharCode(b);
  }
  const match = CIPHERTEXT.exec(text);
  return match ? { text, version: Number(match[1]) } : undefined;
}

/** Batch results (an array; Vault before 0.9 sent it as a JSON string), or undefined. */
function batchResultsOf(json: unknown): BatchResult[] | undefined {
  const data = json !== null && typeof json === 'object' ? (json as { data?: unknown }).data : undefined;
  let results = data !== null && typeof data === 'object' ? (data as { batch_results?: unknown }).batch_results : undefined;
  if (typeof results === 'string') {
    try {
      results = JSON.parse(results) as unknown;
    } catch {
      return undefined;
    }
  }
  if (!Array.isArray(results) || results.some((r) => r === null || typeof r !== 'object')) return undefined;
  return results as BatchResult[];
}

function checkAddress(address: unknown): string {
  if (typeof address !== 'string') throw new InvalidInputError('address must be a string URL such as https://vault.example.com:8200');
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new InvalidInputError('address must be an absolute http(s) URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new InvalidInputError('address must be an http(s) URL');
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new InvalidInputError('address must not carry a query, fragment or credentials');
  }
  return url.href.replace(/\/+$/, '');
}

/** A slash-separated Vault path (mount or namespace): segments of visible ASCII, no dot segments. */
function checkPath(value: unknown, name: string): string[] {
  if (typeof value !== 'string') throw new InvalidInputError(`${name} must be a string`);
  const segments = value.split('/').filter((s) => s !== '');
  if (segments.length === 0 || segments.some((s) => s === '.' || s === '..' || !/^[\x21-\x7e]+$/.test(s))) {
    throw new InvalidInputError(`${name} must be a path of visible ASCII segments, such as 'transit' or 'team/transit'`);
  }
  return segments;
}

function checkOptions(options: VaultTransitProviderOptions): VaultTransitProviderOptions {
  if (options === null || typeof options !== 'object') throw new InvalidInputError('VaultTransitProvider needs options { address, keyName, token }');
  if (typeof options.keyName !== 'string' || !KEY_NAME.test(options.keyName)) {
    throw new InvalidInputError('keyName must be a Vault key name (letters, digits, _ - . @, starting and ending with a letter, digit or _)');
  }
  const token = options.token;
  if (typeof token === 'string' ? !TOKEN.test(token) : typeof token !== 'function') {
    throw new InvalidInputError('token must be a non-empty string of visible ASCII or a function returning a promise of one');
  }
  if (options.keyVersion !== undefined && (!Number.isInteger(options.keyVersion) || options.keyVersion < 1)) {
    throw new InvalidInputError('keyVersion must be an integer >= 1 when given');
  }
  if (options.derived !== undefined && typeof options.derived !== 'boolean') throw new InvalidInputError('derived must be a boolean when given');
  if (options.fetch !== undefined && typeof options.fetch !== 'function') throw new InvalidInputError('fetch must be a function when given');
  return options;
}

/**
 * A KEK in a Vault Transit key.
 *
 * `kekId` is '[namespace/]mount/keys/name' (no address, so a DEK still opens after Vault moves);
 * `kekVersion` is the ciphertext's key version. Besides the KeyProvider methods, rewrapMany moves
 * many DEKs to the current key version with batch_input: one request per 1000 DEKs in derived mode.
 *
 * @example
 * const kek = new VaultTransitProvider({
 *   address: 'https://vault.example.com:8200',
 *   keyName: 'vecseal-kek',
 *   derived: true, // vault write transit/keys/vecseal-kek derived=true
 *   token: async () => (await login()).auth.client_token,
 * });
 * const wrapped = await kek.wrap(dek, { dekId: 'd1', keyVersion: 1, collection: 'docs', tenant: '' });
 */
export class VaultTransitProvider extends BaseKeyProvider {
  readonly id = ID;
  readonly kekId: string;
  readonly #keyUrl: { encrypt: string; decrypt: string; rewrap: string; datakey: string; key: string };
  readonly #keyName: string;
  readonly #token: string | (() => Promise<string>);
  readonly #namespace: string | undefined;
  readonly #algorithm: string;
  readonly #keyVersion: number | undefined;
  readonly #fetch: typeof fetch | undefined;

  /**
   * @param options address, keyName, token, and optionally mount, namespace, derived, keyVersion, fetch, timeoutMs, retry
   * @throws InvalidInputError for an address that is not an http(s) URL, a key name Vault would not
   *   accept, a missing token, or a keyVersion below 1
   */
  constructor(options: VaultTransitProviderOptions) {
    super(checkOptions(options));
    const address = checkAddress(options.address);
    const mount = checkPath(options.mount ?? 'transit', 'mount');
    const namespace = options.namespace === undefined ? undefined : checkPath(options.namespace, 'namespace').join('/');
    const base = `${address}/v1/${mount.map(encodeURIComponent).join('/')}`;
    const name = encodeURIComponent(options.keyName);
    this.#keyUrl = {
      encrypt: `${base}/encrypt/${name}`,
      decrypt: `${base}/decrypt/${name}`,
      rewrap: `${base}/rewrap/${name}`,
      datakey: `${base}/datakey/plaintext/${name}`,
      key: `${base}/keys/${name}`,
    };
    this.kekId = `${namespace === undefined ? '' : `${namespace}/`}${mount.join('/')}/keys/${options.keyName}`;
    this.#keyName = options.keyName;
    this.#token = options.token;
    this.#namespace = namespace;
    this.#algorithm = options.derived === true ? VAULT_TRANSIT_DERIVED : VAULT_TRANSIT_ASSOCIATED_DATA;
    this.#keyVersion = options.keyVersion;
    this.#fetch = options.fetch;
  }

  protected async wrapKey(dek: Uint8Array, context: WrapContext, attempt: Attempt): Promise<RawWrapped> {
    if (this.destroyedKek !== undefined) {
      throw new KeyStateError(`${ID} encrypt: key '${this.kekId}' was destroyed by this provider (refused here: Vault would create a new key under its name)`, { state: 'destroyed' });
    }
    // The DEK travels base64 in a JSON string, which cannot be wiped: true of every JSON KMS API.
    const data = await this.#post('encrypt', this.#keyUrl.encrypt, { plaintext: toBase64(dek), ...this.#bind(context, this.#algorithm), ...this.#pinned() }, attempt);
    return this.#raw('encrypt', data.ciphertext, this.#algorithm);
  }

  protected async unwrapKey(wrapped: WrappedKey, context: WrapContext, attempt: Attempt): Promise<Uint8Array> {
    const ciphertext = this.#ciphertextOf(wrapped);
    const data = await this.#post('decrypt', this.#keyUrl.decrypt, { ciphertext, ...this.#bind(context, wrapped.algorithm) }, attempt, true);
    return this.#dekFrom('decrypt', data.plaintext);
  }

  /** Derived keys: one datakey call (Vault draws the DEK). Otherwise a DEK drawn here, then encrypt: datakey takes no associated_data. */
  protected override async generateKey(context: WrapContext, attempt: Attempt): Promise<{ dek: Uint8Array; raw: RawWrapped }> {
    if (this.#algorithm !== VAULT_TRANSIT_DERIVED) return super.generateKey(context, attempt);
    const data = await this.#post('datakey', this.#keyUrl.datakey, { bits: DEK_BYTES * 8, ...this.#bind(context, VAULT_TRANSIT_DERIVED), ...this.#pinned() }, attempt);
    const dek = this.#dekFrom('datakey', data.plaintext);
    try {
      if (dek.length !== DEK_BYTES) throw protocolError('datakey', `the data key has ${dek.length} bytes, expected ${DEK_BYTES}`);
      return { dek, raw: this.#raw('datakey', data.ciphertext, VAULT_TRANSIT_DERIVED) };
    } catch (err) {
      dek.fill(0);
      throw err;
    }
  }

  /** Derived: Vault's rewrap, the DEK never leaves Vault. Associated data: decrypt and encrypt here (rewrap takes no associated_data). */
  protected override async rewrapKey(wrapped: WrappedKey, context: WrapContext, attempt: Attempt): Promise<RawWrapped> {
    if (wrapped.algorithm !== VAULT_TRANSIT_DERIVED) return super.rewrapKey(wrapped, context, attempt);
    const ciphertext = this.#ciphertextOf(wrapped);
    const data = await this.#post('rewrap', this.#keyUrl.rewrap, { ciphertext, ...this.#bind(context, VAULT_TRANSIT_DERIVED), ...this.#pinned() }, attempt, true);
    return this.#raw('rewrap', data.ciphertext, VAULT_TRANSIT_DERIVED);
  }

  protected async describeKey(attempt: Attempt): Promise<KekDescription> {
    const response = await this.#send('read key', 'GET', this.#keyUrl.key, undefined, attempt);
    if (response.status === 404) {
      // After this provider's own destroyKek, "not found" is that destruction, not a wrong name.
      if (this.destroyedKek !== undefined) {
        return { provider: ID, kekId: this.kekId, state: 'destroyed', algorithm: this.#algorithm, canUnwrap: false, details: { deleted: true } };
      }
      throw new ProviderError(`${ID} read key: Vault has no key '${this.kekId}' (deleted, or never created there)`, { kind: 'rejected', status: 404 });
    }
    if (response.status < 200 || response.status >= 300) throw this.#failure('read key', response.status, response.json, false);
    const data = dataOf('read key', response.json);
    const int = (v: unknown): number => (typeof v === 'number' && Number.isInteger(v) ? v : 0);
    const latest = int(data.latest_version);
    if (latest < 1) throw protocolError('read key', 'the answer has no latest_version');
    const minDecryption = Math.max(1, int(data.min_decryption_version));
    const minEncryption = int(data.min_encryption_version);
    const minAvailable = int(data.min_available_version);
    const version = this.#keyVersion ?? latest;
    let state: KekState = 'enabled';
    if (version > latest || data.supports_encryption === false) state = 'unknown';
    else if (version < minAvailable) state = 'destroyed'; // trimmed: the version's key material is gone
    else if (version < minDecryption || version < minEncryption) state = 'disabled';
    const details: Record<string, string | number | boolean> = {
      latest_version: latest,
      min_decryption_version: minDecryption,
      min_encryption_version: minEncryption,
      min_available_version: minAvailable,
    };
    if (typeof data.type === 'string') details.type = data.type;
    if (typeof data.derived === 'boolean') details.derived = data.derived;
    if (typeof data.deletion_allowed === 'boolean') details.deletion_allowed = data.deletion_allowed;
    if (this.#keyVersion !== undefined) details.pinned_version = this.#keyVersion;
    return { provider: ID, kekId: this.kekId, kekVersion: String(version), state, algorithm: this.#algorithm, canUnwrap: true, details };
  }

  /** Sets deletion_allowed and deletes the key; a key already gone is 'destroyed' (idempotent). */
  protected override async destroyKekKey(attempt: Attempt): Promise<RawDestruction> {
    const read = await this.#send('destroyKek', 'GET', this.#keyUrl.key, undefined, attempt);
    if (read.status === 404) return { state: 'destroyed' };
    if (read.status < 200 || read.status >= 300) throw this.#failure('destroyKek', read.status, read.json, false);
    const data = dataOf('destroyKek', read.json);
    const keys = data.keys !== null && typeof data.keys === 'object' ? Object.keys(data.keys) : [];
    const versions = keys.filter((v) => /^[1-9]\d*$/.test(v)).sort((a, b) => Number(a) - Number(b));
    if (data.deletion_allowed !== true) {
      const config = await this.#send('destroyKek', 'POST', `${this.#keyUrl.key}/config`, { deletion_allowed: true }, attempt);
      if (config.status === 400 && refusalOf(errorsOf(config.json)) === 'missing') return { state: 'destroyed', versions };
      if (config.status < 200 || config.status >= 300) throw this.#failure('destroyKek', config.status, config.json, false);
    }
    const deleted = await this.#send('destroyKek', 'DELETE', this.#keyUrl.key, undefined, attempt);
    // "could not delete key; not found": deleted meanwhile, by another caller or our own attempt whose answer was lost.
    const gone = deleted.status === 400 && /not found/.test(errorsOf(deleted.json));
    if (!gone && (deleted.status < 200 || deleted.status >= 300)) throw this.#failure('destroyKek', deleted.status, deleted.json, false);
    return { state: 'destroyed', versions };
  }

  /**
   * Re-wraps many DEKs under the key's current version (or the pinned keyVersion) with Vault's
   * batch_input. Derived mode: one rewrap request per 1000 DEKs, inside Vault. Associated-data
   * mode: a batch decrypt and a batch encrypt per 1000 DEKs, through this process (Vault's rewrap
   * takes no associated_data). Each item is checked here first (checksum, context, KEK), as rewrap
   * does; an item that fails, here or in Vault, gets its own error and the others go on. A request
   * that fails as a whole (after retries) gives its error to each of its items.
   *
   * @param items wrapped keys and their contexts
   * @returns one result per item, in input order
   * @throws InvalidInputError if items is not an array; AbortedError when options.signal fires
   */
  async rewrapMany(items: readonly VaultRewrapItem[], options?: ProviderCallOptions): Promise<VaultRewrapResult[]> {
    if (!Array.isArray(items)) throw new InvalidInputError('rewrapMany needs an array of { wrapped, context }');
    const results: VaultRewrapResult[] = new Array<VaultRewrapResult>(items.length);
    const derived: Prepared[] = [];
    const associated: Prepared[] = [];
    for (let i = 0; i < items.length; i++) {
      try {
        const prepared = await this.#prepare(items[i], i);
        (prepared.algorithm === VAULT_TRANSIT_DERIVED ? derived : associated).push(prepared);
      } catch (err) {
        results[i] = { ok: false, error: this.#itemError(err) };
      }
    }
    for (let at = 0; at < derived.length; at += VAULT_MAX_BATCH) await this.#rewrapDerived(derived.slice(at, at + VAULT_MAX_BATCH), results, options);
    for (let at = 0; at < associated.length; at += VAULT_MAX_BATCH) await this.#rewrapAssociated(associated.slice(at, at + VAULT_MAX_BATCH), results, options);
    return results;
  }

  async #rewrapDerived(batch: Prepared[], results: VaultRewrapResult[], options: ProviderCallOptions | undefined): Promise<void> {
    const input = batch.map((p) => ({ ciphertext: p.ciphertext, context: p.binding, reference: String(p.index), ...this.#pinned() }));
    const answers = await this.#batch('rewrap', this.#keyUrl.rewrap, input, batch, results, options);
    if (answers === undefined) return;
    for (let k = 0; k < batch.length; k++) results[batch[k]!.index] = await this.#sealItem('rewrap', answers[k]!, batch[k]!);
  }

  async #rewrapAssociated(batch: Prepared[], results: VaultRewrapResult[], options: ProviderCallOptions | undefined): Promise<void> {
    const input = batch.map((p) => ({ ciphertext: p.ciphertext, associated_data: p.binding, reference: String(p.index) }));
    const opened = await this.#batch('decrypt', this.#keyUrl.decrypt, input, batch, results, options);
    if (opened === undefined) return;
    // The plaintexts are base64 strings (which cannot be wiped); they go straight back to Vault and are dropped.
    const next: { p: Prepared; plaintext: string }[] = [];
    for (let k = 0; k < batch.length; k++) {
      const p = batch[k]!;
      const answer = opened[k]!;
      if (answer.error !== undefined && answer.error !== '') {
        results[p.index] = { ok: false, error: this.#itemError(this.#refusal('decrypt', 400, String(answer.error), true)) };
        continue;
      }
      try {
        const dek = this.#dekFrom('decrypt', answer.plaintext);
        const length = dek.length;
        dek.fill(0);
        if (length !== DEK_BYTES) throw protocolError('decrypt', `an item decrypted to ${length} bytes, expected a ${DEK_BYTES}-byte DEK`);
        next.push({ p, plaintext: answer.plaintext as string });
      } catch (err) {
        results[p.index] = { ok: false, error: this.#itemError(err) };
      }
    }
    if (next.length === 0) return;
    const encryptInput = next.map(({ p, plaintext }) => ({ plaintext, associated_data: p.binding, reference: String(p.index), ...this.#pinned() }));
    const nextBatch = next.map((n) => n.p);
    next.length = 0;
    const sealed = await this.#batch('encrypt', this.#keyUrl.encrypt, encryptInput, nextBatch, results, options);
    encryptInput.length = 0;
    if (sealed === undefined) return;
    for (let k = 0; k < nextBatch.length; k++) results[nextBatch[k]!.index] = await this.#sealItem('encrypt', sealed[k]!, nextBatch[k]!);
  }

  /**
   * One batch_input request with timeouts and retries. Returns the results in input order, or
   * undefined after giving the request's error to every item of the batch.
   */
  async #batch(op: string, url: string, input: Json[], batch: Prepared[], results: VaultRewrapResult[], options: ProviderCallOptions | undefined): Promise<BatchResult[] | undefined> {
    try {
      return await this.run(op, options, async (attempt) => {
        const response = await this.#send(op, 'POST', url, { batch_input: input }, attempt);
        const answers = batchResultsOf(response.json);
        // A batch in which some items failed answers 400 with every item's result.
        if ((response.status >= 200 && response.status < 300) || (response.status === 400 && answers !== undefined)) {
          if (answers === undefined || answers.length !== batch.length) {
            throw protocolError(op, `the answer has ${answers?.length ?? 'no'} batch results for ${batch.length} items`, response.status);
          }
          answers.forEach((a, k) => {
            if (a.reference !== undefined && a.reference !== String(batch[k]!.index)) throw protocolError(op, 'the batch results are not in input order', response.status);
          });
          return answers;
        }
        throw this.#failure(op, response.status, response.json, true);
      });
    } catch (err) {
      if (err instanceof AbortedError) throw err;
      const error = this.#itemError(err);
      for (const p of batch) results[p.index] = { ok: false, error };
      return undefined;
    }
  }

  async #sealItem(op: string, answer: BatchResult, p: Prepared): Promise<VaultRewrapResult> {
    try {
      if (answer.error !== undefined && answer.error !== '') throw this.#refusal(op, 400, String(answer.error), true);
      return { ok: true, wrapped: await sealWrappedKey(ID, this.kekId, this.#raw(op, answer.ciphertext, p.algorithm), p.context) };
    } catch (err) {
      return { ok: false, error: this.#itemError(err) };
    }
  }

  /** The checks rewrap makes before calling Vault, per item. */
  async #prepare(item: unknown, index: number): Promise<Prepared> {
    if (item === null || typeof item !== 'object') throw new InvalidInputError(`rewrapMany item ${index} must be { wrapped, context }`);
    const { wrapped, context } = item as { wrapped: WrappedKey; context: WrapContext };
    const { wrapped: w, context: ctx } = await this.checkWrapped(wrapped, context);
    const ciphertext = this.#ciphertextOf(w);
    const bound = this.#bind(ctx, w.algorithm);
    return { index, context: ctx, algorithm: w.algorithm, ciphertext, binding: (bound.context ?? bound.associated_data)! };
  }

  /** Gives an item's error the shape unwrap and rewrap give it. */
  #itemError(err: unknown): VecsealError {
    return this.toVecsealError('rewrapMany', err);
  }


  /** `context` (derived keys) or `associated_data`, as the wrapped key's algorithm says. */
  #bind(context: WrapContext, algorithm: string): { context?: string; associated_data?: string } {
    const bytes = toBase64(encodeWrapContext(context));
    if (algorithm === VAULT_TRANSIT_DERIVED) return { context: bytes };
    if (algorithm === VAULT_TRANSIT_ASSOCIATED_DATA) return { associated_data: bytes };
    throw new InvalidInputError(`wrapped key algorithm '${algorithm}' is not one ${ID} makes ('${VAULT_TRANSIT_DERIVED}' or '${VAULT_TRANSIT_ASSOCIATED_DATA}')`);
  }

  #pinned(): { key_version?: number } {
    return this.#keyVersion === undefined ? {} : { key_version: this.#keyVersion };
  }

  /** The ciphertext string of a wrapped key, checked before it is sent. */
  #ciphertextOf(wrapped: WrappedKey): string {
    const parsed = parseCiphertext(wrapped.bytes);
    if (parsed === undefined || (wrapped.kekVersion !== undefined && wrapped.kekVersion !== String(parsed.version))) {
      // Refused without asking Vault; the base (or rewrapMany) reports it as wrong-key.
      throw new AuthenticationError(`${ID}: the wrapped bytes are not a Vault Transit ciphertext of key version ${wrapped.kekVersion ?? '?'}`);
    }
    return parsed.text;
  }

  #raw(op: string, ciphertext: unknown, algorithm: string): RawWrapped {
    const bytes = typeof ciphertext === 'string' ? encoder.encode(ciphertext) : undefined;
    const parsed = bytes === undefined ? undefined : parseCiphertext(bytes);
    if (bytes === undefined || parsed === undefined) throw protocolError(op, "the answer has no ciphertext of the form 'vault:vN:base64'");
    return { bytes, algorithm, kekVersion: String(parsed.version) };
  }

  #dekFrom(op: string, plaintext: unknown): Uint8Array {
    if (typeof plaintext !== 'string' || plaintext === '') throw protocolError(op, 'the answer has no plaintext');
    try {
      return fromBase64(plaintext, 'plaintext');
    } catch (err) {
      if (err instanceof FormatError) throw new ProviderError(`${ID} ${op}: the answer's plaintext is not base64`, { cause: err, kind: 'protocol' });
      throw err;
    }
  }

  async #currentToken(op: string): Promise<string> {
    if (typeof this.#token === 'string') return this.#token;
    let token: unknown;
    try {
      token = await this.#token();
    } catch (cause) {
      throw new ProviderError(`${ID} ${op}: the token supplier failed`, { cause, kind: 'rejected' });
    }
    if (typeof token !== 'string' || !TOKEN.test(token)) {
      throw new ProviderError(`${ID} ${op}: the token supplier returned no usable token (expected a non-empty string of visible ASCII)`, { kind: 'rejected' });
    }
    return token;
  }

  async #send(op: string, method: 'GET' | 'POST' | 'DELETE', url: string, body: Json | undefined, attempt: Attempt): Promise<HttpResponse> {
    const headers: Record<string, string> = { 'X-Vault-Token': await this.#currentToken(op) };
    if (this.#namespace !== undefined) headers['X-Vault-Namespace'] = this.#namespace;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    return sendJson(ID, op, { url, method, headers, body, signal: attempt.signal, fetch: this.#fetch });
  }

  /** One POST whose answer's data object is returned; `opening` says the request carries a wrapped key. */
  async #post(op: string, url: string, body: Json, attempt: Attempt, opening = false): Promise<Json> {
    const response = await this.#send(op, 'POST', url, body, attempt);
    if (response.status >= 200 && response.status < 300) return dataOf(op, response.json);
    throw this.#failure(op, response.status, response.json, opening);
  }

  #failure(op: string, status: number, json: unknown, opening: boolean): Error {
    return this.#refusal(op, status, errorsOf(json), opening);
  }

  /**
   * Maps Vault's answer: 400 with a tag failure -> AuthenticationError (the base adds 'wrong-key');
   * a retired version -> KeyStateError 'disabled'; an unknown key -> KeyStateError 'destroyed' when a
   * wrapped key names it, else 'rejected'; 403 'permission denied' -> rejected; 429 -> throttled;
   * 5xx (500, 503 when sealed or on standby) -> unavailable.
   */
  #refusal(op: string, status: number, message: string, opening: boolean): Error {
    const said = serviceMessage(message);
    if (status === 400) {
      const refusal = refusalOf(message);
      if (refusal === 'authentication' && opening) {
        return new AuthenticationError(`${ID} ${op}: Vault refused the wrapped DEK under key '${this.#keyName}' (${said})`);
      }
      if (refusal === 'retired') {
        // min_decryption_version / min_encryption_version: Vault's way of retiring key versions.
        return new KeyStateError(`${ID} ${op}: key '${this.kekId}' has retired this key version (${said})`, { state: 'disabled' });
      }
      if (refusal === 'missing') {
        if (opening) return new KeyStateError(`${ID} ${op}: Vault has no key '${this.kekId}' any more (deleted, or the provider points at another Vault, mount or namespace): ${said}`, { state: 'destroyed' });
        return new ProviderError(`${ID} ${op}: Vault has no key '${this.kekId}' (deleted, or never created there): ${said}`, { kind: 'rejected', status });
      }
    }
    return httpFailure(ID, op, status, undefined, message);
  }
}
