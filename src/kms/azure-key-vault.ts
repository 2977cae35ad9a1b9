/**
 * Azure Key Vault and Azure Managed HSM keys as KEKs, over the Key Vault keys REST API
 * (https://learn.microsoft.com/rest/api/keyvault/keys, api-version 7.4):
 * - wrap: POST {vault}/keys/{name}[/{version}]/wrapkey, unwrap: POST .../{version}/unwrapkey, with
 *   'RSA-OAEP-256' (RSA keys in a vault or an HSM: RFC 8017 OAEP, SHA-256 and MGF1-SHA-256) or
 *   'A256KW' (oct-HSM keys in a Managed HSM: AES key wrap, RFC 3394);
 * - describe: GET {vault}/keys/{name}[/{version}], and GET {vault}/deletedkeys/{name} to tell a
 *   soft-deleted key (recoverable: 'pending-deletion') from a purged one ('destroyed').
 *
 * Neither algorithm takes associated data, so the wrap context is bound by a tag (_binding.ts): the
 * wrapped bytes are the service's ciphertext || a 32-byte binding tag, checked (and the DEK wiped on
 * a mismatch) after every unwrap. The `kid` the service answers names the key version that wrapped;
 * it becomes the wrapped key's kekVersion, and unwrap calls exactly that version, so a DEK keeps
 * opening after the key is rotated. Key Vault has no re-encrypt operation: rewrap unwraps and wraps
 * again with the current version, so the DEK passes through this process (base class default).
 *
 * destroyKek deletes the key (DELETE {vault}/keys/{name}, every version): with soft delete (on in
 * every vault and Managed HSM today) it is recoverable until its scheduledPurgeDate ('pending-deletion';
 * wrap and unwrap then answer 404 and GET /deletedkeys/{name} finds it: KeyStateError
 * 'pending-deletion'). With `purge: true` it is then purged (DELETE {vault}/deletedkeys/{name}):
 * 'destroyed', unless purge protection forbids it, when the key stays 'pending-deletion' until
 * the service purges it. Deletion is asynchronous at the service: the purge waits until the deleted
 * key is visible, and the result waits until the purge is done, each within the attempt's timeout.
 * A purged key and a name that never existed both answer 404; a retried destroyKek reports
 * 'destroyed' for both, and so do wrap and describe after this provider's own purge.
 *
 * Runs in browsers and Node (fetch only). The caller supplies Microsoft Entra ID access tokens for
 * the scope https://vault.azure.net/.default (vaults) or https://managedhsm.azure.net/.default
 * (Managed HSM); a token is asked for on every request, so the supplier should cache.
 */
import { AuthenticationError, InvalidInputError, KeyStateError, ProviderError, VecsealError } from '../errors.js';
import { fromBase64, toBase64Url } from './_base64.js';
import { appendTag, bindingTag, checkBinding, splitTag } from './_binding.js';
import { httpFailure, sendJson, serviceMessage, type HttpResponse } from './_http.js';
import { isoFromSeconds } from './_dates.js';
import { BaseKeyProvider, type Attempt, type DestroyKekOptions, type KekDescription, type ProviderOptions, type RawDestruction, type RawWrapped, type WrapContext, type WrappedKey } from './provider.js';

/** 'RSA-OAEP-256' for RSA keys (vault or Managed HSM), 'A256KW' for 256-bit oct-HSM keys (Managed HSM). */
export type AzureWrapAlgorithm = 'RSA-OAEP-256' | 'A256KW';

/** What the token supplier is asked for. */
export interface AzureTokenRequest {
  /** The OAuth scope the token must carry, e.g. 'https://vault.azure.net/.default'. */
  scope: string;
  /** The attempt's signal: fires on the caller's abort or the provider's timeout. */
  signal: AbortSignal;
}

export interface AzureKeyVaultProviderOptions extends ProviderOptions {
  /**
   * The key: https://{vault}.vault.azure.net/keys/{name} or https://{hsm}.managedhsm.azure.net/keys/{name}
   * (any Azure cloud's host), optionally followed by /{version} to pin new wraps to one version.
   * Plain http is accepted only for a loopback host (a local test server).
   */
  keyUrl: string;
  /** Default 'RSA-OAEP-256'. */
  algorithm?: AzureWrapAlgorithm;
  /**
   * Returns a bearer token for `request.scope`; called before every request. With @azure/identity:
   * `async ({ scope, signal }) => (await credential.getToken(scope, { abortSignal: signal })).token`.
   */
  getAccessToken: (request: AzureTokenRequest) => Promise<string>;
  /** Default '7.4'. */
  apiVersion?: string;
  /** Default: derived from the key's host (vault or managedhsm, in the key's cloud). */
  scope?: string;
  /** Default: globalThis.fetch. */
  fetch?: typeof fetch;
}

const DEFAULT_API_VERSION = '7.4';
const ALGORITHMS: readonly AzureWrapAlgorithm[] = ['RSA-OAEP-256', 'A256KW'];
/** Key names: 1-127 letters, digits and dashes (Key Vault naming rules). */
const KEY_NAME = /^[0-9A-Za-z-]{1,127}$/;
/** Key versions are 32 hex digits today; accept any short alphanumeric id, nothing that could change the path. */
const KEY_VERSION = /^[0-9A-Za-z]{1,64}$/;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
/** A 400 on unwrap whose message says the request itself was malformed, not that the ciphertext was refused. */
const MALFORMED_REQUEST = /base64|is required|api-version|api version/i;
/** First and longest wait between polls while the service finishes a deletion or a purge. */
const POLL_FIRST_MS = 100;
const POLL_MAX_MS = 2000;

interface KeyLocation {
  /** scheme://host[:port] */
  origin: string;
  name: string;
  /** Pinned version, if the keyUrl named one. */
  version: string | undefined;
}

interface ServiceError {
  code: string | undefined;
  /** Codes of the nested innererror objects, outermost first. */
  inner: string[];
  message: string;
}

function parseKeyUrl(keyUrl: unknown): KeyLocation {
  const expected = 'keyUrl must look like https://{vault}.vault.azure.net/keys/{name}[/{version}]';
  if (typeof keyUrl !== 'string' || keyUrl === '') throw new InvalidInputError(expected);
  let url: URL;
  try {
    url = new URL(keyUrl);
  } catch (cause) {
    throw new InvalidInputError(`${expected}; it is not a URL`, { cause });
  }
  // The bearer token travels with every request: never over plain http to anything but this machine.
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))) {
    throw new InvalidInputError(`${expected}; plain http is allowed only for a loopback test server`);
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw new InvalidInputError(`${expected}, without credentials, query or fragment`);
  }
  const match = /^\/keys\/([^/]+)(?:\/([^/]+))?\/?$/.exec(url.pathname);
  if (!match || !KEY_NAME.test(match[1]!) || (match[2] !== undefined && !KEY_VERSION.test(match[2]))) throw new InvalidInputError(expected);
  return { origin: url.origin, name: match[1]!, version: match[2] };
}

/** The Entra ID scope of the key's service: https://vault.azure.net/.default, https://managedhsm.azure.cn/.default, ... */
function scopeFor(hostname: string): string {
  const match = /^[^.]+\.(vault|managedhsm)\.(.+)$/.exec(hostname);
  return match ? `https://${match[1]}.${match[2]}/.default` : 'https://vault.azure.net/.default';
}

/** Reads Key Vault's error body { error: { code, message, innererror: { code, innererror ... } } }. */
function serviceError(json: unknown): ServiceError {
  const error = (json as { error?: unknown } | undefined)?.error as Record<string, unknown> | undefined;
  const out: ServiceError = { code: undefined, inner: [], message: '' };
  if (error === null || typeof error !== 'object') return out;
  if (typeof error.code === 'string') out.code = error.code;
  if (typeof error.message === 'string') out.message = error.message;
  let inner = (error.innererror ?? error.innerError) as Record<string, unknown> | undefined;
  for (let depth = 0; depth < 4 && inner !== null && typeof inner === 'object'; depth++) {
    if (typeof inner.code === 'string') out.inner.push(inner.code);
    inner = (inner.innererror ?? inner.innerError) as Record<string, unknown> | undefined;
  }
  return out;
}

function describeError(status: number, e: ServiceError): string {
  const codes = [e.code, ...e.inner].filter((c) => c !== undefined).join('/');
  const said = serviceMessage(e.message);
  return `HTTP ${status}${codes ? ` ${codes}` : ''}${said ? `: ${said}` : ''}`;
}

/** Waits `ms`, or rejects with the signal's reason when it fires first. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A KEK in Azure Key Vault or Azure Managed HSM.
 * @example
 * const provider = new AzureKeyVaultProvider({
 *   keyUrl: 'https://contoso.vault.azure.net/keys/vecseal-kek',
 *   getAccessToken: async ({ scope, signal }) => (await credential.getToken(scope, { abortSignal: signal })).token,
 * });
 */
export class AzureKeyVaultProvider extends BaseKeyProvider {
  readonly id = 'azure-key-vault';
  /** The key's URL without a version: {vault}/keys/{name}. */
  readonly kekId: string;
  readonly algorithm: AzureWrapAlgorithm;
  readonly #key: KeyLocation;
  readonly #apiVersion: string;
  readonly #scope: string;
  readonly #getAccessToken: (request: AzureTokenRequest) => Promise<string>;
  readonly #fetch: typeof fetch | undefined;

  /** @throws InvalidInputError for a malformed keyUrl, algorithm, apiVersion or missing token supplier */
  constructor(options: AzureKeyVaultProviderOptions) {
    if (options === null || typeof options !== 'object') throw new InvalidInputError('AzureKeyVaultProvider needs options { keyUrl, getAccessToken }');
    super(options);
    this.#key = parseKeyUrl(options.keyUrl);
    const algorithm = options.algorithm ?? 'RSA-OAEP-256';
    if (!ALGORITHMS.includes(algorithm)) throw new InvalidInputError(`algorithm must be 'RSA-OAEP-256' or 'A256KW'; got ${String(algorithm)}`);
    if (typeof options.getAccessToken !== 'function') throw new InvalidInputError('getAccessToken must be a function returning a bearer token');
    const apiVersion = options.apiVersion ?? DEFAULT_API_VERSION;
    if (typeof apiVersion !== 'string' || !/^[0-9A-Za-z.-]{1,32}$/.test(apiVersion)) throw new InvalidInputError("apiVersion must look like '7.4'");
    if (options.scope !== undefined && (typeof options.scope !== 'string' || options.scope === '')) throw new InvalidInputError('scope must be a non-empty string');
    if (options.fetch !== undefined && typeof options.fetch !== 'function') throw new InvalidInputError('fetch must be a function');
    this.algorithm = algorithm;
    this.kekId = `${this.#key.origin}/keys/${this.#key.name}`;
    this.#apiVersion = apiVersion;
    this.#scope = options.scope ?? scopeFor(new URL(this.#key.origin).hostname);
    this.#getAccessToken = options.getAccessToken;
    this.#fetch = options.fetch;
  }

  protected async wrapKey(dek: Uint8Array, context: WrapContext, attempt: Attempt): Promise<RawWrapped> {
    // The DEK crosses as a base64url string inside the TLS-protected request; JS strings cannot be wiped.
    const res = await this.#send('wrap', 'POST', `${this.#keyPath(this.#key.version)}/wrapkey`, { alg: this.algorithm, value: toBase64Url(dek) }, attempt);
    if (res.status !== 200) throw await this.#failure('wrap', res, attempt);
    const { version, value } = this.#operationResult('wrap', res.json);
    return { bytes: appendTag(value, await bindingTag(dek, context)), algorithm: this.algorithm, kekVersion: version };
  }

  protected async unwrapKey(wrapped: WrappedKey, context: WrapContext, attempt: Attempt): Promise<Uint8Array> {
    const algorithm = wrapped.algorithm as AzureWrapAlgorithm;
    if (!ALGORITHMS.includes(algorithm)) throw new InvalidInputError(`an Azure key unwraps RSA-OAEP-256 or A256KW; this key was wrapped with ${wrapped.algorithm}`);
    const version = wrapped.kekVersion;
    if (version === undefined || !KEY_VERSION.test(version)) throw new InvalidInputError('the wrapped key does not name the Azure key version that wrapped it (kekVersion)');
    const parts = splitTag(wrapped.bytes);
    if (!parts) throw new AuthenticationError('the wrapped key is too short to hold a ciphertext and its binding tag');
    // Exactly the version that wrapped: after a rotation the current version could not open it.
    const res = await this.#send('unwrap', 'POST', `${this.#keyPath(version)}/unwrapkey`, { alg: algorithm, value: toBase64Url(parts.blob) }, attempt);
    if (res.status !== 200) throw await this.#failure('unwrap', res, attempt);
    const { version: used, value: dek } = this.#operationResult('unwrap', res.json);
    if (used !== version) {
      dek.fill(0);
      throw new ProviderError(`${this.id} unwrap: the service answered for key version ${used}, not ${version}`, { kind: 'protocol' });
    }
    return checkBinding(dek, context, parts.tag);
  }

  protected async describeKey(attempt: Attempt): Promise<KekDescription> {
    const res = await this.#send('describe', 'GET', this.#keyPath(this.#key.version), undefined, attempt);
    if (res.status === 200) return this.#description(res.json);
    const failure = await this.#failure('describe', res, attempt);
    // A disabled, soft-deleted or (after our own purge) purged key is a state to report, not a failure to describe it.
    if (failure instanceof KeyStateError && (failure.state === 'disabled' || failure.state === 'pending-deletion' || failure.state === 'destroyed')) {
      return { provider: this.id, kekId: this.kekId, kekVersion: this.#key.version, state: failure.state, algorithm: this.algorithm, canUnwrap: true, details: { reason: failure.message } };
    }
    throw failure;
  }

  /** Soft delete, then (with purge) purge; idempotent: a key deleted or purged before is reported as it is now. */
  protected override async destroyKekKey(attempt: Attempt, options: DestroyKekOptions): Promise<RawDestruction> {
    const deletedPath = `/deletedkeys/${this.#key.name}`;
    const res = await this.#send('destroyKek', 'DELETE', this.#keyPath(undefined), undefined, attempt);
    let deleted: unknown;
    let fresh = false;
    if (res.status === 200) {
      deleted = res.json;
      fresh = true;
    } else if (res.status === 404) {
      // Deleted before (a retried shred): still soft-deleted, or purged.
      const found = await this.#send('destroyKek', 'GET', deletedPath, undefined, attempt);
      if (found.status === 404) return { state: 'destroyed' };
      if (found.status !== 200) throw this.#destroyFailure(found);
      deleted = found.json;
    } else throw this.#destroyFailure(res);
    const bundle = (deleted !== null && typeof deleted === 'object' ? deleted : {}) as { scheduledPurgeDate?: unknown; attributes?: { recoveryLevel?: unknown } };
    // A vault without soft delete (recovery level 'Purgeable', retired by Azure in 2025) deletes at once.
    if (bundle.attributes?.recoveryLevel === 'Purgeable') return { state: 'destroyed' };
    const pending: RawDestruction = { state: 'pending-deletion', deletionDate: isoFromSeconds(bundle.scheduledPurgeDate) };
    if (options.purge !== true) return pending;
    // The service deletes asynchronously: purge only once the deleted key is visible (as the Azure SDKs' delete poller waits).
    if (fresh) await this.#until(attempt, async () => (await this.#deletedStatus(deletedPath, attempt)) !== 404);
    let purged = false;
    await this.#until(attempt, async () => {
      const answer = await this.#send('destroyKek', 'DELETE', deletedPath, undefined, attempt);
      if (answer.status === 204 || answer.status === 200 || answer.status === 404) return (purged = true);
      const e = serviceError(answer.json);
      if (answer.status === 409) return false; // ObjectIsBeingDeleted: not ready yet
      if (answer.status === 403 && /purge protection/i.test(e.message)) return true;
      throw this.#destroyFailure(answer);
    });
    if (!purged) return pending; // purge protection: the service purges it at scheduledPurgeDate
    // Purging is asynchronous too: report 'destroyed' once the deleted key is gone, so describe and unwrap agree.
    await this.#until(attempt, async () => (await this.#deletedStatus(deletedPath, attempt)) === 404);
    return { state: 'destroyed' };
  }

  async #deletedStatus(path: string, attempt: Attempt): Promise<number> {
    const res = await this.#send('destroyKek', 'GET', path, undefined, attempt);
    if (res.status !== 200 && res.status !== 404) throw this.#destroyFailure(res);
    return res.status;
  }

  /** Polls `done` with growing pauses; the attempt's signal (timeout or abort) ends the wait. */
  async #until(attempt: Attempt, done: () => Promise<boolean>): Promise<void> {
    for (let wait = POLL_FIRST_MS; !(await done()); wait = Math.min(wait * 2, POLL_MAX_MS)) await pause(wait, attempt.signal);
  }

  #destroyFailure(res: HttpResponse): ProviderError {
    const e = serviceError(res.json);
    return httpFailure(this.id, 'destroyKek', res.status, e.code, e.inner.length > 0 ? `[${e.inner.join('/')}] ${e.message}` : e.message);
  }

  #keyPath(version: string | undefined): string {
    return `/keys/${this.#key.name}${version === undefined ? '' : `/${version}`}`;
  }

  async #token(op: string, attempt: Attempt): Promise<string> {
    let token: unknown;
    try {
      token = await this.#getAccessToken({ scope: this.#scope, signal: attempt.signal });
    } catch (err) {
      if (attempt.signal.aborted) throw attempt.signal.reason;
      if (err instanceof VecsealError) throw err;
      throw new ProviderError(`${this.id} ${op}: getAccessToken failed (${err instanceof Error ? err.name : typeof err})`, { cause: err, kind: 'rejected' });
    }
    // Anything but a visible-ASCII string could never be a valid Authorization header value.
    if (typeof token !== 'string' || !/^[\x21-\x7e]+$/.test(token)) {
      throw new ProviderError(`${this.id} ${op}: getAccessToken did not return a bearer token string`, { kind: 'rejected' });
    }
    return token;
  }

  async #send(op: string, method: 'GET' | 'POST' | 'DELETE', path: string, body: unknown, attempt: Attempt): Promise<HttpResponse> {
    const token = await this.#token(op, attempt);
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    return sendJson(this.id, op, {
      url: `${this.#key.origin}${path}?api-version=${encodeURIComponent(this.#apiVersion)}`,
      method,
      headers,
      body,
      signal: attempt.signal,
      fetch: this.#fetch,
    });
  }

  /** Checks a KeyOperationResult { kid, value }: kid must name this key; returns its version and the value's bytes. */
  #operationResult(op: string, json: unknown): { version: string; value: Uint8Array } {
    const result = json as { kid?: unknown; value?: unknown } | undefined;
    const version = this.#versionOf(typeof result?.kid === 'string' ? result.kid : undefined);
    if (version === undefined) throw new ProviderError(`${this.id} ${op}: the answer's kid does not name a version of key '${this.#key.name}'`, { kind: 'protocol' });
    if (typeof result?.value !== 'string' || result.value === '') throw new ProviderError(`${this.id} ${op}: the answer has no value`, { kind: 'protocol' });
    try {
      return { version, value: fromBase64(result.value, `${op} result value`) };
    } catch (cause) {
      throw new ProviderError(`${this.id} ${op}: the answer's value is not base64url`, { cause, kind: 'protocol' });
    }
  }

  /**
   * The version a kid names, if it is a version of this key. Only the path is compared: behind a
   * private endpoint or proxy the service still answers with its canonical vault host.
   */
  #versionOf(kid: string | undefined): string | undefined {
    if (kid === undefined) return undefined;
    let path: string;
    try {
      path = new URL(kid).pathname;
    } catch {
      return undefined;
    }
    const match = /^\/keys\/([^/]+)\/([^/]+)$/.exec(path);
    // Key Vault names are case-insensitive.
    if (!match || match[1]!.toLowerCase() !== this.#key.name.toLowerCase() || !KEY_VERSION.test(match[2]!)) return undefined;
    return match[2];
  }

  #description(json: unknown): KekDescription {
    const bundle = json as { key?: Record<string, unknown>; attributes?: Record<string, unknown> } | undefined;
    const key = bundle?.key;
    const attributes = bundle?.attributes ?? {};
    const version = this.#versionOf(typeof key?.kid === 'string' ? key.kid : undefined);
    if (version === undefined) throw new ProviderError(`${this.id} describe: the key bundle's kid does not name a version of key '${this.#key.name}'`, { kind: 'protocol' });
    const ops = Array.isArray(key?.key_ops) ? (key.key_ops as unknown[]).filter((o): o is string => typeof o === 'string') : undefined;
    const details: Record<string, string | number | boolean> = {};
    if (typeof key?.kty === 'string') details.keyType = key.kty;
    if (typeof key?.n === 'string') {
      try {
        const modulus = fromBase64(key.n, 'modulus');
        details.keySize = (modulus[0] === 0 ? modulus.length - 1 : modulus.length) * 8;
      } catch {
        /* size is informational */
      }
    }
    if (ops !== undefined) details.keyOps = ops.join(',');
    for (const [name, field] of [['created', 'created'], ['updated', 'updated'], ['notBefore', 'nbf'], ['expires', 'exp']] as const) {
      const iso = isoFromSeconds(attributes[field]);
      if (iso !== undefined) details[name] = iso;
    }
    if (typeof attributes.recoveryLevel === 'string') details.recoveryLevel = attributes.recoveryLevel;
    if (typeof attributes.recoverableDays === 'number') details.recoverableDays = attributes.recoverableDays;
    return {
      provider: this.id,
      kekId: this.kekId,
      kekVersion: version,
      state: attributes.enabled === false ? 'disabled' : 'enabled',
      algorithm: this.algorithm,
      canUnwrap: ops === undefined || ops.includes('unwrapKey'),
      details,
    };
  }

  /**
   * Maps a non-200 answer (Key Vault error body):
   * - unwrap 400 (e.g. BadParameter "Error occurred while decoding OAEP padding"): the key refused the
   *   ciphertext -> AuthenticationError, unless the message says the request was malformed;
   * - 403 with innererror KeyDisabled ("Operation ... is not allowed on a disabled key") -> KeyStateError 'disabled';
   * - 404 KeyNotFound -> asks the service what became of the key (#missing);
   * - 429 throttled, 5xx unavailable (retried by the base); anything else (401, 403 ...) rejected.
   */
  async #failure(op: 'wrap' | 'unwrap' | 'describe', res: HttpResponse, attempt: Attempt): Promise<VecsealError> {
    const e = serviceError(res.json);
    const what = describeError(res.status, e);
    if (op === 'unwrap' && res.status === 400 && !MALFORMED_REQUEST.test(e.message)) {
      return new AuthenticationError(`Azure key '${this.#key.name}' refused the wrapped DEK (${what})`);
    }
    if (res.status === 403 && (e.inner.includes('KeyDisabled') || /disabled key/i.test(e.message))) {
      return new KeyStateError(`Azure key '${this.#key.name}' is disabled (${what})`, { state: 'disabled' });
    }
    // The innererror codes (KeyDisabled, ForbiddenByPolicy ...) say more than the outer code: keep them in the message.
    const failure = httpFailure(this.id, op, res.status, e.code, e.inner.length > 0 ? `[${e.inner.join('/')}] ${e.message}` : e.message);
    if (res.status === 404) return (await this.#missing(op, attempt)) ?? failure;
    return failure;
  }

  /**
   * After a 404: is the key there (then the version is not one of its versions), soft-deleted
   * (recoverable until its purge date), or gone? Undefined when the service does not say.
   */
  async #missing(op: 'wrap' | 'unwrap' | 'describe', attempt: Attempt): Promise<VecsealError | undefined> {
    const status = async (path: string): Promise<HttpResponse | undefined> => {
      try {
        return await this.#send(op, 'GET', path, undefined, attempt);
      } catch {
        return undefined; // the original 404 stands
      }
    };
    const live = await status(this.#keyPath(undefined));
    if (live?.status === 200) {
      // Key Vault never deletes single versions: a version the key lacks was never one of its versions.
      return op === 'unwrap' ? new AuthenticationError(`Azure key '${this.#key.name}' has no such version: the DEK was wrapped by another key`) : undefined;
    }
    if (live?.status !== 404) return undefined;
    const deleted = await status(`/deletedkeys/${this.#key.name}`);
    if (deleted?.status === 200) {
      const purge = isoFromSeconds((deleted.json as { scheduledPurgeDate?: unknown } | undefined)?.scheduledPurgeDate);
      return new KeyStateError(`Azure key '${this.#key.name}' is deleted and recoverable${purge ? ` until ${purge}` : ''} (recover it to use it again)`, { state: 'pending-deletion' });
    }
    // Neither live nor soft-deleted: purged. Only unwrap knows the key existed (it wrapped this DEK),
    // and this provider once its own destroyKek purged it; otherwise it may as well be a wrong name.
    if (deleted?.status === 404 && (op === 'unwrap' || this.destroyedKek === 'destroyed')) {
      return new KeyStateError(`Azure key '${this.#key.name}' no longer exists (purged): the DEKs it wrapped cannot be unwrapped`, { state: 'destroyed' });
    }
    return undefined;
  }
}
