/**
 * KEKs in AWS Key Management Service (AWS KMS API Reference: Encrypt, Decrypt, GenerateDataKey,
 * ReEncrypt, DescribeKey), over the AWS JSON 1.1 protocol with SigV4-signed fetch (_aws-sigv4.ts):
 * no AWS SDK, so it runs in browsers and Node alike.
 *
 * The wrap context is bound as the KMS EncryptionContext, a string map:
 *   vecseal:dek = dekId, vecseal:version = keyVersion (decimal), vecseal:collection = collection,
 *   vecseal:tenant = tenant (left out when tenant is '', so no empty value is sent; absent versus
 *   present keeps the map one-to-one with the context).
 * KMS authenticates it as AAD, so Decrypt under any other context fails (InvalidCiphertextException).
 * KMS writes the encryption context to CloudTrail in clear: DEK ids, collections and tenants must not
 * be secrets (they are not, by vecseal's design).
 *
 * kekId is the key as configured (key ARN, key id, alias name or alias ARN). Wrapped keys record the
 * key ARN KMS answers with, so they keep naming the same key after an alias moves; unwrap passes the
 * configured id as Decrypt's KeyId, so KMS itself refuses a ciphertext of another key. KMS keeps
 * the versions of a key's backing material to itself except for an opaque key material id, which
 * GenerateDataKey and ReEncrypt report (Encrypt does not): wrapped keys carry it as kekVersion when
 * KMS gives it, and describe() reports the current one.
 *
 * destroyKek is ScheduleKeyDeletion: KMS never deletes a key at once, only after a waiting period
 * of 7 to 30 days (PendingWindowInDays; 7 here unless asked, AWS's own default is 30), during
 * which the key is PendingDeletion (Encrypt and Decrypt answer KMSInvalidStateException, reported
 * as KeyStateError 'pending-deletion') and CancelKeyDeletion can still bring it back. A key already
 * pending deletion answers KMSInvalidStateException; that is success, with the date DescribeKey gives.
 */
import { AuthenticationError, InvalidInputError, KeyStateError, ProviderError, type KekState } from '../errors.js';
import { fromBase64, toBase64 } from './_base64.js';
import { httpFailure, serviceMessage, type HttpResponse } from './_http.js';
import { callAwsJson, checkCredentials, type AwsCredentials, type AwsCredentialSource } from './_aws-sigv4.js';
import { isoFromSeconds } from './_dates.js';
import { BaseKeyProvider, type Attempt, type DestroyKekOptions, type KekDescription, type ProviderOptions, type RawDestruction, type RawWrapped, type WrapContext, type WrappedKey } from './provider.js';

export type { AwsCredentials, AwsCredentialSource };

const ALGORITHM = 'AWS-KMS';
const SERVICE = 'kms';
/** AWS answers throttling with HTTP 400 and these codes. */
const THROTTLING_CODES = ['ThrottlingException', 'LimitExceededException'];
/** Server-side failures worth another try, whatever their status. */
const UNAVAILABLE_CODES = ['KMSInternalException', 'DependencyTimeoutException', 'ServiceUnavailableException', 'InternalFailure'];
const REFUSED_CIPHERTEXT_CODES = ['InvalidCiphertextException', 'IncorrectKeyException'];
/** ScheduleKeyDeletion's PendingWindowInDays bounds (AWS KMS API Reference). */
const MIN_PENDING_WINDOW_DAYS = 7;
const MAX_PENDING_WINDOW_DAYS = 30;
/** The waiting period when the caller names none: the shortest AWS allows, since the caller asked to destroy. */
const DEFAULT_PENDING_WINDOW_DAYS = 7;

export interface AwsKmsProviderOptions extends ProviderOptions {
  /** The KMS key: key ARN, key id, alias name ('alias/...') or alias ARN. */
  keyId: string;
  /** e.g. 'eu-west-1'; also the SigV4 signing region. */
  region: string;
  /** Default https://kms.<region>.amazonaws.com (.amazonaws.com.cn in China regions). */
  endpoint?: string;
  /** Static credentials or a supplier called before every request (see AwsCredentialSource). */
  credentials: AwsCredentialSource;
  /** Default globalThis.fetch. */
  fetch?: typeof fetch;
}

/** The KMS EncryptionContext that binds a wrap context (see the file comment). */
export function awsEncryptionContext(context: WrapContext): Record<string, string> {
  const map: Record<string, string> = {
    'vecseal:dek': context.dekId,
    'vecseal:version': String(context.keyVersion),
    'vecseal:collection': context.collection,
  };
  if (context.tenant !== '') map['vecseal:tenant'] = context.tenant;
  return map;
}

/** The default endpoint of a region. */
export function awsKmsEndpoint(region: string): string {
  return `https://kms.${region}.${region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com'}`;
}

/** The key id (UUID or mrk-...) of a key ARN or bare key id; undefined for aliases. */
function keyIdOf(id: string): string | undefined {
  if (id.startsWith('alias/')) return undefined;
  if (!id.startsWith('arn:')) return id;
  const resource = id.split(':').slice(5).join(':');
  return resource.startsWith('key/') ? resource.slice(4) : undefined;
}

/** Account and region of an ARN, to tell two ARNs of the same key id apart. */
function arnScope(id: string): string | undefined {
  return id.startsWith('arn:') ? id.split(':').slice(1, 5).join(':') : undefined;
}

const KEY_STATES: Record<string, KekState> = {
  Enabled: 'enabled',
  Disabled: 'disabled',
  PendingDeletion: 'pending-deletion',
  PendingReplicaDeletion: 'pending-deletion',
};

/** A KMS KeyState as a KekState. */
function kekStateOf(keyState: unknown): KekState {
  return (typeof keyState === 'string' && KEY_STATES[keyState]) || 'unknown';
}

/** The error code of a KMS answer: __type (maybe namespaced) or the X-Amzn-ErrorType header. */
function errorCode(response: HttpResponse): string | undefined {
  const body = response.json as { __type?: unknown } | undefined;
  const raw = typeof body?.__type === 'string' ? body.__type : response.headers.get('x-amzn-errortype') ?? undefined;
  if (raw === undefined || raw === '') return undefined;
  return raw.slice(raw.lastIndexOf('#') + 1).split(':')[0];
}

function errorMessage(response: HttpResponse): unknown {
  const body = response.json as { message?: unknown; Message?: unknown } | undefined;
  return body?.message ?? body?.Message;
}

/**
 * A KEK in AWS KMS (symmetric encryption key, SYMMETRIC_DEFAULT).
 * @example
 * const kek = new AwsKmsProvider({ keyId: 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-...', region: 'eu-west-1', credentials: async () => getTemporaryCredentials() });
 */
export class AwsKmsProvider extends BaseKeyProvider {
  readonly id = 'aws-kms';
  readonly kekId: string;
  readonly region: string;
  /** Where requests go (the region's endpoint unless `endpoint` was given). */
  readonly endpoint: string;
  readonly #credentials: AwsCredentialSource;
  readonly #fetch: typeof fetch | undefined;

  /**
   * @throws InvalidInputError for a missing key id, region or credentials, or a bad endpoint URL
   */
  constructor(options: AwsKmsProviderOptions) {
    super(options ?? {});
    if (options === null || typeof options !== 'object') throw new InvalidInputError('AwsKmsProvider needs options { keyId, region, credentials }');
    if (typeof options.keyId !== 'string' || options.keyId === '') throw new InvalidInputError('keyId must be a key ARN, key id, alias name or alias ARN');
    if (typeof options.region !== 'string' || !/^[a-z0-9-]+$/.test(options.region)) throw new InvalidInputError('region must be an AWS region name such as eu-west-1');
    const endpoint = options.endpoint ?? awsKmsEndpoint(options.region);
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch (cause) {
      throw new InvalidInputError('endpoint must be an absolute http(s) URL', { cause });
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new InvalidInputError('endpoint must be an absolute http(s) URL');
    if (typeof options.credentials === 'function') this.#credentials = options.credentials;
    else this.#credentials = Object.freeze(checkCredentials(options.credentials));
    if (options.fetch !== undefined && typeof options.fetch !== 'function') throw new InvalidInputError('fetch must be a function when given');
    this.kekId = options.keyId;
    this.region = options.region;
    this.endpoint = url.href;
    this.#fetch = options.fetch;
  }

  protected async wrapKey(dek: Uint8Array, context: WrapContext, attempt: Attempt): Promise<RawWrapped> {
    const out = await this.#call('Encrypt', { KeyId: this.kekId, Plaintext: toBase64(dek), EncryptionContext: awsEncryptionContext(context) }, attempt);
    return this.#raw('Encrypt', out.CiphertextBlob, out.KeyId, undefined);
  }

  protected async unwrapKey(wrapped: WrappedKey, context: WrapContext, attempt: Attempt): Promise<Uint8Array> {
    const out = await this.#call('Decrypt', { CiphertextBlob: toBase64(wrapped.bytes), KeyId: this.kekId, EncryptionContext: awsEncryptionContext(context) }, attempt);
    return this.#bytes('Decrypt', out.Plaintext, 'Plaintext');
  }

  protected override async generateKey(context: WrapContext, attempt: Attempt): Promise<{ dek: Uint8Array; raw: RawWrapped }> {
    const out = await this.#call('GenerateDataKey', { KeyId: this.kekId, KeySpec: 'AES_256', EncryptionContext: awsEncryptionContext(context) }, attempt);
    const dek = this.#bytes('GenerateDataKey', out.Plaintext, 'Plaintext');
    try {
      return { dek, raw: this.#raw('GenerateDataKey', out.CiphertextBlob, out.KeyId, out.KeyMaterialId) };
    } catch (err) {
      dek.fill(0);
      throw err;
    }
  }

  /** ReEncrypt: the DEK never leaves KMS; the result uses the key's current material. */
  protected override async rewrapKey(wrapped: WrappedKey, context: WrapContext, attempt: Attempt): Promise<RawWrapped> {
    const encryptionContext = awsEncryptionContext(context);
    const out = await this.#call(
      'ReEncrypt',
      {
        CiphertextBlob: toBase64(wrapped.bytes),
        SourceKeyId: this.kekId,
        SourceEncryptionContext: encryptionContext,
        DestinationKeyId: this.kekId,
        DestinationEncryptionContext: encryptionContext,
      },
      attempt,
    );
    return this.#raw('ReEncrypt', out.CiphertextBlob, out.KeyId, out.DestinationKeyMaterialId);
  }

  protected async describeKey(attempt: Attempt): Promise<KekDescription> {
    const meta = await this.#describe(attempt);
    const details: Record<string, string | number | boolean> = {};
    for (const field of ['Arn', 'KeyState', 'KeySpec', 'KeyUsage', 'Origin', 'KeyManager', 'MultiRegion', 'CreationDate', 'DeletionDate', 'Description'] as const) {
      const v = meta[field];
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') details[field.charAt(0).toLowerCase() + field.slice(1)] = v;
    }
    return {
      provider: this.id,
      kekId: this.kekId,
      kekVersion: typeof meta.CurrentKeyMaterialId === 'string' ? meta.CurrentKeyMaterialId : undefined,
      state: kekStateOf(meta.KeyState),
      algorithm: ALGORITHM,
      canUnwrap: true,
      details,
    };
  }

  protected override checkDestroyOptions(options: DestroyKekOptions): void {
    const days = options.pendingWindowInDays;
    if (days !== undefined && (!Number.isInteger(days) || days < MIN_PENDING_WINDOW_DAYS || days > MAX_PENDING_WINDOW_DAYS)) {
      throw new InvalidInputError(`AWS KMS schedules deletion a whole number of days ahead, ${MIN_PENDING_WINDOW_DAYS} to ${MAX_PENDING_WINDOW_DAYS}; pendingWindowInDays was ${days}`);
    }
  }

  /** ScheduleKeyDeletion; a key already pending deletion is success, with the date DescribeKey reports. */
  protected override async destroyKekKey(attempt: Attempt, options: DestroyKekOptions): Promise<RawDestruction> {
    let out: Record<string, unknown>;
    try {
      out = await this.#call('ScheduleKeyDeletion', { KeyId: this.kekId, PendingWindowInDays: options.pendingWindowInDays ?? DEFAULT_PENDING_WINDOW_DAYS }, attempt);
    } catch (err) {
      if (!(err instanceof KeyStateError)) throw err;
      // KMSInvalidStateException: already pending deletion (a retried shred), or a state in which KMS refuses to schedule it.
      const meta = await this.#describe(attempt);
      if (meta.KeyState !== 'PendingDeletion') throw err;
      return { state: 'pending-deletion', deletionDate: isoFromSeconds(meta.DeletionDate) };
    }
    if (out.KeyState !== undefined && out.KeyState !== 'PendingDeletion') {
      throw new ProviderError(`aws-kms ScheduleKeyDeletion: the key is ${String(out.KeyState)} afterwards, not PendingDeletion`, { kind: 'protocol' });
    }
    // A multi-Region primary key with replicas has no date yet: its window starts when the last replica is deleted.
    return { state: 'pending-deletion', deletionDate: isoFromSeconds(out.DeletionDate) };
  }

  /**
   * Accepts the key as configured or another form of the same key (key id versus key ARN of one
   * account and region). With an alias configured any key passes here: the alias may have moved
   * since, and Decrypt (KeyId = the alias) refuses a ciphertext of any key but the alias's.
   */
  protected override ownsKek(wrapped: WrappedKey): boolean {
    const theirs = wrapped.kekId;
    if (theirs === this.kekId) return true;
    const theirId = keyIdOf(theirs);
    if (theirId === undefined) return false;
    const mine = keyIdOf(this.kekId);
    if (mine === undefined) return true;
    if (mine !== theirId) return false;
    const [a, b] = [arnScope(this.kekId), arnScope(theirs)];
    return a === undefined || b === undefined || a === b;
  }

  async #describe(attempt: Attempt): Promise<Record<string, unknown>> {
    const out = await this.#call('DescribeKey', { KeyId: this.kekId }, attempt);
    const meta = out.KeyMetadata;
    if (meta === null || typeof meta !== 'object') throw new ProviderError('aws-kms DescribeKey: the answer has no KeyMetadata', { kind: 'protocol' });
    return meta as Record<string, unknown>;
  }

  async #call(op: string, body: Record<string, unknown>, attempt: Attempt): Promise<Record<string, unknown>> {
    const response = await callAwsJson({
      provider: this.id,
      url: this.endpoint,
      region: this.region,
      service: SERVICE,
      target: `TrentService.${op}`,
      body,
      credentials: this.#credentials,
      signal: attempt.signal,
      fetch: this.#fetch,
    });
    if (response.status >= 200 && response.status < 300) {
      if (response.json === null || typeof response.json !== 'object') throw new ProviderError(`aws-kms ${op}: the answer has no JSON body (HTTP ${response.status})`, { kind: 'protocol', status: response.status });
      return response.json as Record<string, unknown>;
    }
    throw await this.#failure(op, response, attempt);
  }

  /** Maps a KMS error answer to the error the base provider and callers expect. */
  async #failure(op: string, response: HttpResponse, attempt: Attempt): Promise<Error> {
    const code = errorCode(response);
    const message = errorMessage(response);
    if (code !== undefined && REFUSED_CIPHERTEXT_CODES.includes(code)) {
      return new AuthenticationError(`aws-kms ${op}: KMS refused the ciphertext (${code})`);
    }
    if (code === 'DisabledException' || code === 'KMSInvalidStateException') {
      const state = code === 'DisabledException' ? 'disabled' : await this.#stateAfter(message, attempt);
      const said = serviceMessage(message);
      return new KeyStateError(`aws-kms ${op}: the KMS key is ${state} (${code}${said ? `: ${said}` : ''})`, { state });
    }
    if (code !== undefined && UNAVAILABLE_CODES.includes(code) && response.status < 500) {
      return new ProviderError(`aws-kms ${op} failed: HTTP ${response.status} ${code}`, { providerCode: code, kind: 'unavailable', status: response.status });
    }
    return httpFailure(this.id, op, response.status, code, message, THROTTLING_CODES);
  }

  /** The state behind a KMSInvalidStateException: from its message, else from DescribeKey. */
  async #stateAfter(message: unknown, attempt: Attempt): Promise<KekState> {
    const text = typeof message === 'string' ? message : '';
    if (/pending deletion/i.test(text)) return 'pending-deletion';
    if (/\bdisabled\b/i.test(text)) return 'disabled';
    try {
      return kekStateOf((await this.#describe(attempt)).KeyState);
    } catch {
      return 'unknown';
    }
  }

  #raw(op: string, blob: unknown, keyArn: unknown, materialId: unknown): RawWrapped {
    const bytes = this.#bytes(op, blob, 'CiphertextBlob');
    let kekId = this.kekId;
    if (typeof keyArn === 'string' && keyArn.startsWith('arn:') && keyIdOf(keyArn) !== undefined) kekId = keyArn;
    return { bytes, algorithm: ALGORITHM, kekId, kekVersion: typeof materialId === 'string' && materialId !== '' ? materialId : undefined };
  }

  #bytes(op: string, value: unknown, field: string): Uint8Array {
    if (typeof value !== 'string' || value === '') throw new ProviderError(`aws-kms ${op}: the answer lacks ${field}`, { kind: 'protocol' });
    try {
      return fromBase64(value, field);
    } catch (cause) {
      throw new ProviderError(`aws-kms ${op}: the answer's ${field} is not base64`, { cause, kind: 'protocol' });
    }
  }
}
