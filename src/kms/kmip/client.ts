/**
 * A small KMIP client over TLS with client certificates (KMIP 1.4 section 10 "Transport" and the
 * KMIP 1.4 Profiles' TLS authentication suites): one request per connection at a time, over a pool
 * of at most `maxConnections` TLS sockets; each response is read whole by the length in its TTLV
 * header and checked against the request (batch item id, operation) before anyone sees it.
 *
 * Node only (node:tls). Operations are the ones the KMIP provider needs: Create, Activate, Get (also
 * with a Key Wrapping Specification), Get Attributes, Locate, Encrypt, Decrypt, Revoke, Destroy and
 * Discover Versions. Failures are ProviderErrors: KmipResultError (kind 'rejected', with the KMIP
 * Result Reason) when the server answers with a failure, kind 'network' when the connection fails or
 * closes, 'rejected' when TLS authentication fails, 'protocol' for malformed answers. Error messages
 * never contain payload bytes, certificates or keys.
 */
import { isIP } from 'node:net';
import { checkServerIdentity, connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { AbortedError, ClosedError, InvalidInputError, ProviderError } from '../../errors.js';
import { concat } from '../_envelope.js';
import { decodeResponseMessage, DEFAULT_PROTOCOL_VERSION, encodeRequestMessage, messageLength, type ProtocolVersion } from './messages.js';
import {
  BlockCipherMode,
  CryptographicAlgorithm,
  EncodingOption,
  nameOf,
  NameType,
  ObjectType,
  Operation,
  PaddingMethod,
  ResultReason,
  ResultStatus,
  RevocationReasonCode,
  Tag,
  UsageMask,
  WrappingMethod,
} from './tags.js';
import {
  byteString,
  dateTime,
  enumeration,
  findAll,
  integer,
  ItemType,
  optional,
  required,
  structure,
  textString,
  TTLV_HEADER_BYTES,
  type TtlvItem,
  type TtlvStructure,
} from './ttlv.js';

/** The IANA-registered KMIP port. */
export const KMIP_PORT = 5696;
const DEFAULT_MAX_CONNECTIONS = 4;
const DEFAULT_MAX_RESPONSE_BYTES = 1 << 20;
const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
const BATCH_ID_BYTES = 8;
const MAX_RESULT_MESSAGE_CHARS = 200;

type Pem = string | Uint8Array;

export interface KmipTlsOptions {
  /** CA certificate(s) that issued the server's certificate (PEM). */
  ca?: Pem | Pem[] | undefined;
  /** Client certificate (PEM): how the server authenticates this client. */
  cert?: Pem | undefined;
  /** The client certificate's private key (PEM). */
  key?: Pem | undefined;
  passphrase?: string | undefined;
  /** Name to check the server certificate against (and send as SNI); defaults to `host`. */
  servername?: string | undefined;
}

export interface KmipClientOptions {
  host: string;
  /** Default 5696. */
  port?: number | undefined;
  tls: KmipTlsOptions;
  /** Default KMIP 1.2; 1.4 is needed for AES-GCM with additional data. */
  protocolVersion?: ProtocolVersion | undefined;
  /** TLS connections kept at most (default 4); each carries one request at a time. */
  maxConnections?: number | undefined;
  /** Responses larger than this are refused (default 1 MiB). */
  maxResponseBytes?: number | undefined;
  /** An idle connection is closed after this long (default 30 s). */
  idleTimeoutMs?: number | undefined;
}

export interface KmipCallOptions {
  /** Aborting closes the connection the request is on and rejects the call. */
  signal?: AbortSignal | undefined;
}

/** The server answered with a failed Result Status. */
export class KmipResultError extends ProviderError {
  override name = 'KmipResultError';
  /** The Operation that failed. */
  readonly operation: number;
  readonly resultStatus: number;
  /** The KMIP Result Reason (tags.ts ResultReason). */
  readonly resultReason: number;
  constructor(message: string, options: { operation: number; resultStatus: number; resultReason: number }) {
    super(message, { kind: 'rejected', providerCode: nameOf(ResultReason, options.resultReason) });
    this.operation = options.operation;
    this.resultStatus = options.resultStatus;
    this.resultReason = options.resultReason;
  }
}

export interface CreateKeyOptions {
  /** Default 256. */
  lengthBits?: number | undefined;
  /** Cryptographic Usage Mask; default Encrypt | Decrypt | Wrap Key | Unwrap Key. */
  usageMask?: number | undefined;
  /** A Name attribute (Uninterpreted Text String). */
  name?: string | undefined;
}

export interface KmipKey {
  uid: string;
  objectType: number;
  keyFormatType: number;
  /** Raw key bytes, or the wrapped bytes when `wrapped` (the caller wipes them). */
  material: Uint8Array;
  algorithm: number | undefined;
  lengthBits: number | undefined;
  wrapped: boolean;
}

export type CipherMode = 'GCM' | 'CTR' | 'CBC';

export interface EncryptRequest {
  uid: string;
  data: Uint8Array;
  mode: CipherMode;
  /** IV / counter / nonce; the server makes one (and returns it) when absent. */
  iv?: Uint8Array | undefined;
  /** Authenticated Encryption Additional Data (GCM, KMIP 1.4). */
  aad?: Uint8Array | undefined;
  /** GCM tag bytes (default 16). */
  tagLength?: number | undefined;
}

export interface DecryptRequest {
  uid: string;
  data: Uint8Array;
  mode: CipherMode;
  iv: Uint8Array;
  aad?: Uint8Array | undefined;
  /** Authenticated Encryption Tag (GCM, KMIP 1.4). */
  tag?: Uint8Array | undefined;
}

export interface EncryptResult {
  data: Uint8Array;
  iv: Uint8Array | undefined;
  tag: Uint8Array | undefined;
}

export interface LocateQuery {
  name?: string | undefined;
  objectType?: number | undefined;
  /** A State value (tags.ts State). */
  state?: number | undefined;
  maxItems?: number | undefined;
}

export interface KmipAttribute {
  name: string;
  index: number | undefined;
  value: TtlvItem;
}

const MODES: Record<CipherMode, number> = { GCM: BlockCipherMode.GCM, CTR: BlockCipherMode.CTR, CBC: BlockCipherMode.CBC };

/** A message for an error, without anything from the payload. */
function describeError(err: unknown): string {
  if (err instanceof Error) return (err as NodeJS.ErrnoException).code ?? err.name;
  return typeof err;
}

/** TLS refusals (either side's certificate checks, the server's alerts) are 'rejected'; the rest 'network'. */
function transportError(stage: 'opening' | 'open', err: unknown): ProviderError {
  const code = err instanceof Error ? (err as NodeJS.ErrnoException).code : undefined;
  const tls = code !== undefined && (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || code.includes('CERT'));
  const what = tls ? 'KMIP TLS authentication failed' : stage === 'opening' ? 'KMIP connection could not be opened' : 'KMIP connection failed';
  return new ProviderError(`${what} (${describeError(err)})`, {
    kind: tls ? 'rejected' : 'network',
    ...(code !== undefined ? { providerCode: code } : {}),
    cause: err,
  });
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new AbortedError('the KMIP call was aborted', { cause: signal.reason });
}

/** One TLS socket carrying one request at a time. */
class Connection {
  readonly socket: TLSSocket;
  closed = false;
  #chunks: Uint8Array[] = [];
  #received = 0;
  #expected = -1;
  #maxBytes = 0;
  #waiter: { resolve(bytes: Uint8Array): void; reject(err: unknown): void } | undefined;
  readonly #onClose: (c: Connection) => void;

  constructor(socket: TLSSocket, onClose: (c: Connection) => void) {
    this.socket = socket;
    this.#onClose = onClose;
    socket.on('data', (d: Buffer) => this.#onData(d));
    socket.on('error', (e) => this.#fail(transportError('open', e)));
    socket.on('end', () => this.#fail(new ProviderError('KMIP server closed the connection', { kind: 'network' })));
    socket.on('close', () => this.#fail(new ProviderError('KMIP connection closed', { kind: 'network' })));
    socket.on('timeout', () => this.destroy());
  }

  /** Writes one request and resolves with the whole response message. */
  exchange(request: Uint8Array, maxBytes: number, signal: AbortSignal | undefined): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new ProviderError('KMIP connection closed', { kind: 'network' }));
    if (signal?.aborted) return Promise.reject(abortError(signal));
    return new Promise<Uint8Array>((resolve, reject) => {
      const onAbort = (): void => {
        this.#waiter = undefined;
        this.destroy();
        reject(abortError(signal!));
      };
      const settle = (): void => {
        signal?.removeEventListener('abort', onAbort);
        this.#waiter = undefined;
        this.#reset();
      };
      this.#waiter = {
        resolve: (bytes) => {
          settle();
          resolve(bytes);
        },
        reject: (err) => {
          settle();
          reject(err);
        },
      };
      this.#maxBytes = maxBytes;
      signal?.addEventListener('abort', onAbort, { once: true });
      this.socket.write(request);
    });
  }

  destroy(): void {
    this.socket.destroy();
    this.#fail(new ProviderError('KMIP connection closed', { kind: 'network' }));
  }

  #reset(): void {
    for (const c of this.#chunks) c.fill(0);
    this.#chunks = [];
    this.#received = 0;
    this.#expected = -1;
  }

  #onData(data: Buffer): void {
    if (this.#waiter === undefined) {
      // Nothing was asked: a late answer to an aborted request, or a confused server. Either way the stream is out of step.
      data.fill(0);
      this.#fail(new ProviderError('KMIP server sent data nobody asked for', { kind: 'protocol' }));
      this.socket.destroy();
      return;
    }
    this.#chunks.push(data);
    this.#received += data.length;
    try {
      if (this.#expected < 0 && this.#received >= TTLV_HEADER_BYTES) {
        this.#expected = messageLength(concat(this.#chunks).subarray(0, TTLV_HEADER_BYTES));
        if (this.#expected > this.#maxBytes) throw new ProviderError(`KMIP response of ${this.#expected} bytes exceeds the ${this.#maxBytes}-byte limit`, { kind: 'protocol' });
      }
      if (this.#expected >= 0 && this.#received >= this.#expected) {
        // One request at a time, so bytes past the response mean the stream is out of step.
        if (this.#received > this.#expected) throw new ProviderError('KMIP server sent more than one response', { kind: 'protocol' });
        this.#waiter.resolve(concat(this.#chunks));
      }
    } catch (err) {
      const error = err instanceof ProviderError ? err : new ProviderError('KMIP server sent a malformed response header', { kind: 'protocol', cause: err });
      this.#waiter?.reject(error);
      this.destroy();
    }
  }

  #fail(error: ProviderError): void {
    const first = !this.closed;
    this.closed = true;
    this.#waiter?.reject(error);
    if (first) {
      this.socket.destroy();
      this.#onClose(this);
    }
  }
}

/**
 * A KMIP client with a small pool of TLS connections.
 * @example
 * const client = new KmipClient({ host: 'kms.example', tls: { ca, cert, key } });
 * const uid = await client.create({ name: 'my-kek' });
 * await client.activate(uid);
 */
export class KmipClient {
  readonly version: ProtocolVersion;
  readonly #options: ConnectionOptions;
  readonly #maxConnections: number;
  readonly #maxResponseBytes: number;
  readonly #idleTimeoutMs: number;
  readonly #all = new Set<Connection>();
  #idle: Connection[] = [];
  #opening = 0;
  #waiters: (() => void)[] = [];
  #closed = false;

  /** @throws InvalidInputError for a missing host or out-of-range limits */
  constructor(options: KmipClientOptions) {
    if (options === null || typeof options !== 'object' || typeof options.host !== 'string' || options.host === '') {
      throw new InvalidInputError('KmipClient needs options { host, port?, tls: { ca, cert, key } }');
    }
    const port = options.port ?? KMIP_PORT;
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InvalidInputError('KMIP port must be an integer from 1 to 65535');
    const maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    if (!Number.isInteger(maxConnections) || maxConnections < 1) throw new InvalidInputError('maxConnections must be an integer >= 1');
    const tls = options.tls ?? {};
    const servername = tls.servername ?? options.host;
    this.version = options.protocolVersion ?? DEFAULT_PROTOCOL_VERSION;
    this.#maxConnections = maxConnections;
    this.#maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.#options = {
      host: options.host,
      port,
      ...(tls.ca !== undefined ? { ca: tls.ca as ConnectionOptions['ca'] } : {}),
      ...(tls.cert !== undefined ? { cert: tls.cert as ConnectionOptions['cert'] } : {}),
      ...(tls.key !== undefined ? { key: tls.key as ConnectionOptions['key'] } : {}),
      ...(tls.passphrase !== undefined ? { passphrase: tls.passphrase } : {}),
      // SNI must not carry an IP address (RFC 6066); the certificate is still checked against it.
      ...(isIP(servername) === 0 ? { servername } : {}),
      ...(tls.servername !== undefined && isIP(servername) !== 0 ? { checkServerIdentity: checkIdentityFor(servername) } : {}),
      minVersion: 'TLSv1.2',
    };
  }

  /** Open connections (idle or busy). */
  get connections(): number {
    return this.#all.size;
  }

  /**
   * Sends one operation and returns its Response Payload.
   * @throws KmipResultError when the server reports a failure; ProviderError for transport and format faults
   */
  async call(operation: number, payload: readonly TtlvItem[], options?: KmipCallOptions): Promise<TtlvStructure | undefined> {
    if (this.#closed) throw new ClosedError('this KMIP client was closed');
    const signal = options?.signal;
    if (signal?.aborted) throw abortError(signal);
    const id = crypto.getRandomValues(new Uint8Array(BATCH_ID_BYTES));
    const request = encodeRequestMessage({ version: this.version, items: [{ operation, payload, id }] });
    let connection: Connection | undefined;
    try {
      connection = await this.#acquire(signal);
      return readResponse(await connection.exchange(request, this.#maxResponseBytes, signal), operation, id);
    } catch (err) {
      // A failure result is a well-formed answer; anything else leaves the stream in doubt.
      if (!(err instanceof KmipResultError)) connection?.destroy();
      throw err;
    } finally {
      // The request may carry key material (Encrypt data).
      request.fill(0);
      if (connection !== undefined) this.#release(connection);
    }
  }

  /** Closes every connection; calls in flight fail, later calls throw ClosedError. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const c of [...this.#all]) c.destroy();
    this.#idle = [];
    for (const w of this.#waiters.splice(0)) w();
  }

  // ---- operations ----

  /** Create (KMIP 1.4 section 4.1): a new AES key; returns its Unique Identifier. It starts Pre-Active. */
  async create(options: CreateKeyOptions = {}, call?: KmipCallOptions): Promise<string> {
    const lengthBits = options.lengthBits ?? 256;
    const usage = options.usageMask ?? UsageMask.Encrypt | UsageMask.Decrypt | UsageMask.WrapKey | UsageMask.UnwrapKey;
    const attributes = [
      attribute('Cryptographic Algorithm', enumeration(Tag.AttributeValue, CryptographicAlgorithm.AES)),
      attribute('Cryptographic Length', integer(Tag.AttributeValue, lengthBits)),
      attribute('Cryptographic Usage Mask', integer(Tag.AttributeValue, usage)),
    ];
    if (options.name !== undefined) attributes.push(attribute('Name', nameValue(options.name)));
    const payload = await this.call(Operation.Create, [enumeration(Tag.ObjectType, ObjectType.SymmetricKey), structure(Tag.TemplateAttribute, attributes)], call);
    return uidOf(payload, 'Create');
  }

  /** Activate (4.19): Pre-Active to Active. */
  async activate(uid: string, call?: KmipCallOptions): Promise<void> {
    await this.call(Operation.Activate, [textString(Tag.UniqueIdentifier, uid)], call);
  }

  /** Get (4.11) of a symmetric key, in the clear (as the server's policy allows). The caller wipes `material`. */
  async get(uid: string, call?: KmipCallOptions): Promise<KmipKey> {
    return readKey(await this.call(Operation.Get, [textString(Tag.UniqueIdentifier, uid)], call));
  }

  /**
   * Get with a Key Wrapping Specification (4.11, 2.1.6): the key `uid` comes back encrypted under
   * the key `wrappingKeyUid` (which needs the Wrap Key usage), by default with NIST key wrap
   * (AES-KW, RFC 3394) and No Encoding, so `material` is the bare RFC 3394 output.
   */
  async exportWrapped(uid: string, wrappingKeyUid: string, options: { blockCipherMode?: number } & KmipCallOptions = {}): Promise<KmipKey> {
    const spec = structure(Tag.KeyWrappingSpecification, [
      enumeration(Tag.WrappingMethod, WrappingMethod.Encrypt),
      structure(Tag.EncryptionKeyInformation, [
        textString(Tag.UniqueIdentifier, wrappingKeyUid),
        structure(Tag.CryptographicParameters, [enumeration(Tag.BlockCipherMode, options.blockCipherMode ?? BlockCipherMode.NISTKeyWrap)]),
      ]),
      enumeration(Tag.EncodingOption, EncodingOption.NoEncoding),
    ]);
    const key = readKey(await this.call(Operation.Get, [textString(Tag.UniqueIdentifier, uid), spec], options));
    if (!key.wrapped) {
      key.material.fill(0);
      throw new ProviderError('KMIP server returned the key unwrapped although wrapping was asked for', { kind: 'protocol' });
    }
    return key;
  }

  /** Get Attributes (4.12). Without names, every attribute the server will give. */
  async getAttributes(uid: string, names: readonly string[] = [], call?: KmipCallOptions): Promise<KmipAttribute[]> {
    const payload = await this.call(Operation.GetAttributes, [textString(Tag.UniqueIdentifier, uid), ...names.map((n) => textString(Tag.AttributeName, n))], call);
    if (payload === undefined) throw new ProviderError('KMIP Get Attributes response has no payload', { kind: 'protocol' });
    return findAll(payload, Tag.Attribute).map((a) => {
      if (a.type !== ItemType.Structure) throw new ProviderError('KMIP Attribute is not a Structure', { kind: 'protocol' });
      return protocolRead(() => ({
        name: required(a, Tag.AttributeName, ItemType.TextString, 'Attribute Name').value,
        index: optional(a, Tag.AttributeIndex, ItemType.Integer, 'Attribute Index')?.value,
        value: a.value.find((i) => i.tag === Tag.AttributeValue) ?? missing('Attribute Value'),
      }));
    });
  }

  /** The object's State (tags.ts State). */
  async getState(uid: string, call?: KmipCallOptions): Promise<number> {
    const state = (await this.getAttributes(uid, ['State'], call)).find((a) => a.name === 'State');
    if (state === undefined || state.value.type !== ItemType.Enumeration) throw new ProviderError('KMIP server did not return the State attribute', { kind: 'protocol' });
    return state.value.value;
  }

  /** Locate (4.9): Unique Identifiers of the objects matching every given attribute (servers list the newest first). */
  async locate(query: LocateQuery, call?: KmipCallOptions): Promise<string[]> {
    const payload: TtlvItem[] = [];
    if (query.maxItems !== undefined) payload.push(integer(Tag.MaximumItems, query.maxItems));
    if (query.objectType !== undefined) payload.push(attribute('Object Type', enumeration(Tag.AttributeValue, query.objectType)));
    if (query.name !== undefined) payload.push(attribute('Name', nameValue(query.name)));
    if (query.state !== undefined) payload.push(attribute('State', enumeration(Tag.AttributeValue, query.state)));
    const response = await this.call(Operation.Locate, payload, call);
    if (response === undefined) return [];
    return findAll(response, Tag.UniqueIdentifier).map((i) => {
      if (i.type !== ItemType.TextString) throw new ProviderError('KMIP Locate returned a non-text Unique Identifier', { kind: 'protocol' });
      return i.value;
    });
  }

  /** Encrypt (4.29). GCM data with additional data needs KMIP 1.4. */
  async encrypt(request: EncryptRequest, call?: KmipCallOptions): Promise<EncryptResult> {
    const payload: TtlvItem[] = [textString(Tag.UniqueIdentifier, request.uid), this.#parameters(request.mode, request.tagLength), byteString(Tag.Data, request.data)];
    if (request.iv !== undefined) payload.push(byteString(Tag.IvCounterNonce, request.iv));
    if (request.aad !== undefined) payload.push(byteString(Tag.AuthenticatedEncryptionAdditionalData, this.#needs14(request.aad, 'additional data')));
    const response = await this.call(Operation.Encrypt, payload, call);
    if (response === undefined) throw new ProviderError('KMIP Encrypt response has no payload', { kind: 'protocol' });
    return protocolRead(() => ({
      data: required(response, Tag.Data, ItemType.ByteString, 'Encrypt Data').value,
      iv: optional(response, Tag.IvCounterNonce, ItemType.ByteString, 'IV/Counter/Nonce')?.value,
      tag: optional(response, Tag.AuthenticatedEncryptionTag, ItemType.ByteString, 'Authenticated Encryption Tag')?.value,
    }));
  }

  /** Decrypt (4.30); the caller wipes the result. */
  async decrypt(request: DecryptRequest, call?: KmipCallOptions): Promise<Uint8Array> {
    const payload: TtlvItem[] = [
      textString(Tag.UniqueIdentifier, request.uid),
      this.#parameters(request.mode, request.tag?.length),
      byteString(Tag.Data, request.data),
      byteString(Tag.IvCounterNonce, request.iv),
    ];
    if (request.aad !== undefined) payload.push(byteString(Tag.AuthenticatedEncryptionAdditionalData, this.#needs14(request.aad, 'additional data')));
    if (request.tag !== undefined) payload.push(byteString(Tag.AuthenticatedEncryptionTag, this.#needs14(request.tag, 'an authentication tag')));
    const response = await this.call(Operation.Decrypt, payload, call);
    if (response === undefined) throw new ProviderError('KMIP Decrypt response has no payload', { kind: 'protocol' });
    return protocolRead(() => required(response, Tag.Data, ItemType.ByteString, 'Decrypt Data').value);
  }

  /**
   * Revoke (4.20): with Key Compromise or CA Compromise the object becomes Compromised, otherwise
   * (from Active) Deactivated.
   */
  async revoke(uid: string, reason: number = RevocationReasonCode.CessationOfOperation, message?: string, call?: KmipCallOptions): Promise<void> {
    const why: TtlvItem[] = [enumeration(Tag.RevocationReasonCode, reason)];
    if (message !== undefined) why.push(textString(Tag.RevocationMessage, message));
    const payload: TtlvItem[] = [textString(Tag.UniqueIdentifier, uid), structure(Tag.RevocationReason, why)];
    if (reason === RevocationReasonCode.KeyCompromise || reason === RevocationReasonCode.CACompromise) {
      payload.push(dateTime(Tag.CompromiseOccurrenceDate, BigInt(Math.floor(Date.now() / 1000))));
    }
    await this.call(Operation.Revoke, payload, call);
  }

  /** Destroy (4.21): servers refuse it for Active objects; revoke first. */
  async destroy(uid: string, call?: KmipCallOptions): Promise<void> {
    await this.call(Operation.Destroy, [textString(Tag.UniqueIdentifier, uid)], call);
  }

  /** Discover Versions (4.26): the protocol versions the server speaks, preferred first. */
  async discoverVersions(call?: KmipCallOptions): Promise<ProtocolVersion[]> {
    const payload = await this.call(Operation.DiscoverVersions, [], call);
    if (payload === undefined) return [];
    return findAll(payload, Tag.ProtocolVersion).map((v) => {
      if (v.type !== ItemType.Structure) throw new ProviderError('KMIP Protocol Version is not a Structure', { kind: 'protocol' });
      return protocolRead(() => ({
        major: required(v, Tag.ProtocolVersionMajor, ItemType.Integer, 'Protocol Version Major').value,
        minor: required(v, Tag.ProtocolVersionMinor, ItemType.Integer, 'Protocol Version Minor').value,
      }));
    });
  }

  // ---- internals ----

  #parameters(mode: CipherMode, tagLength: number | undefined): TtlvStructure {
    const blockMode = MODES[mode];
    if (blockMode === undefined) throw new InvalidInputError(`KMIP cipher mode must be one of ${Object.keys(MODES).join(', ')}`);
    const fields: TtlvItem[] = [enumeration(Tag.BlockCipherMode, blockMode)];
    if (mode === 'CBC') fields.push(enumeration(Tag.PaddingMethod, PaddingMethod.PKCS5));
    fields.push(enumeration(Tag.CryptographicAlgorithm, CryptographicAlgorithm.AES));
    // Tag Length is in bytes (KMIP 1.4 section 3.6).
    if (mode === 'GCM') fields.push(integer(Tag.TagLength, tagLength ?? 16));
    return structure(Tag.CryptographicParameters, fields);
  }

  #needs14(bytes: Uint8Array, what: string): Uint8Array {
    if (this.version.major === 1 && this.version.minor < 4) throw new InvalidInputError(`KMIP ${this.version.major}.${this.version.minor} cannot carry ${what}; it needs KMIP 1.4`);
    return bytes;
  }

  async #acquire(signal: AbortSignal | undefined): Promise<Connection> {
    for (;;) {
      if (this.#closed) throw new ClosedError('this KMIP client was closed');
      const idle = this.#idle.pop();
      if (idle !== undefined) {
        if (idle.closed) continue;
        idle.socket.setTimeout(0);
        idle.socket.ref();
        return idle;
      }
      if (this.#all.size + this.#opening < this.#maxConnections) {
        this.#opening++;
        try {
          const connection = await this.#open(signal);
          this.#all.add(connection);
          return connection;
        } finally {
          this.#opening--;
          this.#wake();
        }
      }
      await this.#waitForConnection(signal);
    }
  }

  #release(connection: Connection): void {
    if (connection.closed) this.#all.delete(connection);
    else if (!this.#closed) {
      // Idle sockets must not keep the process alive, nor stay open for ever.
      connection.socket.unref();
      connection.socket.setTimeout(this.#idleTimeoutMs);
      this.#idle.push(connection);
    }
    this.#wake();
  }

  #wake(): void {
    this.#waiters.shift()?.();
  }

  #waitForConnection(signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.#waiters = this.#waiters.filter((w) => w !== wake);
        reject(abortError(signal!));
      };
      const wake = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      this.#waiters.push(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  #open(signal: AbortSignal | undefined): Promise<Connection> {
    return new Promise<Connection>((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortError(signal));
        return;
      }
      const socket = connect(this.#options);
      const done = (): void => {
        signal?.removeEventListener('abort', onAbort);
        socket.removeListener('error', onError);
        socket.removeListener('close', onClose);
      };
      const onAbort = (): void => {
        done();
        socket.destroy();
        reject(abortError(signal!));
      };
      const onError = (err: Error): void => {
        done();
        socket.destroy();
        reject(transportError('opening', err));
      };
      const onClose = (): void => {
        done();
        reject(new ProviderError('KMIP server closed the connection during the TLS handshake', { kind: 'network' }));
      };
      socket.once('secureConnect', () => {
        done();
        resolve(
          new Connection(socket, (c) => {
            this.#all.delete(c);
            this.#idle = this.#idle.filter((i) => i !== c);
            this.#wake();
          }),
        );
      });
      socket.once('error', onError);
      socket.once('close', onClose);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/** When the caller dials an IP address but wants the certificate checked against another name. */
function checkIdentityFor(name: string): ConnectionOptions['checkServerIdentity'] {
  return (_host, cert) => checkServerIdentity(name, cert);
}

/** The Response Payload of the one batch item answering `operation` / `id`; wipes `response`. */
function readResponse(response: Uint8Array, operation: number, id: Uint8Array): TtlvStructure | undefined {
  let message;
  try {
    message = decodeResponseMessage(response);
  } catch (cause) {
    throw new ProviderError(`KMIP server sent a malformed ${nameOf(Operation, operation)} response`, { kind: 'protocol', cause });
  } finally {
    response.fill(0);
  }
  const item = message.items[0];
  if (message.items.length !== 1 || item === undefined) throw new ProviderError(`KMIP server answered one request with ${message.items.length} batch items`, { kind: 'protocol' });
  // Servers answer message-level failures (unparsable request, failed authentication) without echoing the batch item.
  const echoed = item.id !== undefined;
  if (echoed && !sameBytes(item.id!, id)) throw new ProviderError('KMIP response belongs to another request (Unique Batch Item ID differs)', { kind: 'protocol' });
  if (item.status !== ResultStatus.Success) {
    const reason = item.reason ?? ResultReason.GeneralFailure;
    const text = item.message !== undefined ? `: ${item.message.slice(0, MAX_RESULT_MESSAGE_CHARS)}` : '';
    throw new KmipResultError(`KMIP ${nameOf(Operation, operation)} failed with ${nameOf(ResultReason, reason)}${text}`, {
      operation,
      resultStatus: item.status,
      resultReason: reason,
    });
  }
  if (!echoed || (item.operation !== undefined && item.operation !== operation)) {
    throw new ProviderError(`KMIP response to ${nameOf(Operation, operation)} does not match the request`, { kind: 'protocol' });
  }
  return item.payload;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function missing(what: string): never {
  throw new ProviderError(`KMIP ${what} is missing`, { kind: 'protocol' });
}

/** Runs a payload read; a FormatError from ttlv's required/optional becomes a protocol ProviderError. */
function protocolRead<T>(read: () => T): T {
  try {
    return read();
  } catch (cause) {
    if (cause instanceof ProviderError) throw cause;
    throw new ProviderError(`KMIP server sent a malformed payload (${cause instanceof Error ? cause.message : 'unreadable'})`, { kind: 'protocol', cause });
  }
}

function attribute(name: string, value: TtlvItem): TtlvStructure {
  return structure(Tag.Attribute, [textString(Tag.AttributeName, name), value]);
}

function nameValue(name: string): TtlvStructure {
  return structure(Tag.AttributeValue, [textString(Tag.NameValue, name), enumeration(Tag.NameType, NameType.UninterpretedTextString)]);
}

function uidOf(payload: TtlvStructure | undefined, op: string): string {
  if (payload === undefined) throw new ProviderError(`KMIP ${op} response has no payload`, { kind: 'protocol' });
  return protocolRead(() => required(payload, Tag.UniqueIdentifier, ItemType.TextString, 'Unique Identifier').value);
}

/** Reads a Get response carrying a Symmetric Key (Key Block: Key Format Type, Key Value, algorithm, length, Key Wrapping Data). */
function readKey(payload: TtlvStructure | undefined): KmipKey {
  if (payload === undefined) throw new ProviderError('KMIP Get response has no payload', { kind: 'protocol' });
  return protocolRead(() => {
    const objectType = required(payload, Tag.ObjectType, ItemType.Enumeration, 'Object Type').value;
    if (objectType !== ObjectType.SymmetricKey) throw new ProviderError(`KMIP Get returned a ${nameOf(ObjectType, objectType)}, not a symmetric key`, { kind: 'protocol' });
    const block = required(required(payload, Tag.SymmetricKey, ItemType.Structure, 'Symmetric Key'), Tag.KeyBlock, ItemType.Structure, 'Key Block');
    const wrapped = optional(block, Tag.KeyWrappingData, ItemType.Structure, 'Key Wrapping Data') !== undefined;
    const value = block.value.find((i) => i.tag === Tag.KeyValue) ?? missing('Key Value');
    // A wrapped Key Value may be a bare Byte String (KMIP 1.4 section 2.1.4); otherwise a Structure holding Key Material.
    let material: Uint8Array;
    if (value.type === ItemType.ByteString) material = value.value;
    else if (value.type === ItemType.Structure) material = required(value, Tag.KeyMaterial, ItemType.ByteString, 'Key Material').value;
    else throw new ProviderError('KMIP Key Value has an unexpected type', { kind: 'protocol' });
    return {
      uid: required(payload, Tag.UniqueIdentifier, ItemType.TextString, 'Unique Identifier').value,
      objectType,
      keyFormatType: required(block, Tag.KeyFormatType, ItemType.Enumeration, 'Key Format Type').value,
      material,
      algorithm: optional(block, Tag.CryptographicAlgorithm, ItemType.Enumeration, 'Cryptographic Algorithm')?.value,
      lengthBits: optional(block, Tag.CryptographicLength, ItemType.Integer, 'Cryptographic Length')?.value,
      wrapped,
    };
  });
}
