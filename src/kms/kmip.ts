/**
 * A KEK held by a KMIP server (KMIP 1.4, or 1.2), reached over TLS with a client certificate
 * (kmip/client.ts). The KEK is an AES-256 Symmetric Key that never leaves the server; wrapping is
 * the server's Encrypt operation and unwrapping its Decrypt:
 *
 * - KMIP 1.4 (default): AES-256-GCM with a 12-byte IV chosen here, a 16-byte tag, and the wrap
 *   context (encodeWrapContext) as Authenticated Encryption Additional Data. Wrapped bytes are
 *   iv || ciphertext || tag; algorithm 'A256GCM'.
 * - KMIP 1.2 has no additional data nor tag fields, so: AES-256-CTR with a 16-byte counter block
 *   chosen here, and the context bound by a binding tag (_binding.ts) over the DEK. Wrapped bytes
 *   are iv || ciphertext || bindingTag; algorithm 'A256CTR+BIND'.
 *
 * The KEK is named either by one Unique Identifier (`keyId`) or by a Name attribute (`keyName`): then
 * every key with that name is a version of the KEK (rotate() creates and activates the next one),
 * wrapped keys record the Unique Identifier that wrapped them as `kekVersion`, and unwrap checks that
 * identifier carries the name before using it.
 *
 * KMIP result reasons map to the SDK's errors: Item Not Found is a destroyed KEK (KeyStateError
 * 'destroyed'); Permission Denied or Illegal Operation on a key that is not Active is a KeyStateError
 * with the state Get Attributes reports; Cryptographic Failure, Invalid Message or General Failure on
 * Decrypt means the KEK refused the bytes (AuthenticationError: PyKMIP reports a GCM tag mismatch as
 * General Failure); everything else stays a ProviderError ('rejected'; 'network' for a dropped
 * connection). Node only.
 */
import { AuthenticationError, InvalidInputError, KeyStateError, NotSupportedError, ProviderError, type KekState } from '../errors.js';
import { concat } from './_envelope.js';
import { bindingTag, checkBinding, splitTag } from './_binding.js';
import { BaseKeyProvider, DEK_BYTES, encodeWrapContext, type Attempt, type KekDescription, type ProviderOptions, type RawDestruction, type RawWrapped, type WrapContext, type WrappedKey } from './provider.js';
import { KmipClient, KmipResultError, type KmipCallOptions, type KmipTlsOptions } from './kmip/client.js';
import { KMIP_1_2, KMIP_1_4, type ProtocolVersion } from './kmip/messages.js';
import { nameOf, ObjectType, ResultReason, RevocationReasonCode, State } from './kmip/tags.js';
import { ItemType } from './kmip/ttlv.js';

const GCM_IV_BYTES = 12;
const GCM_TAG_BYTES = 16;
const CTR_IV_BYTES = 16;
const GCM_ALGORITHM = 'A256GCM';
const CTR_ALGORITHM = 'A256CTR+BIND';

export interface KmipProviderOptions extends ProviderOptions {
  host: string;
  /** Default 5696. */
  port?: number | undefined;
  /** CA of the server certificate, and this client's certificate and key (PEM). */
  tls: KmipTlsOptions;
  /** Unique Identifier of the AES-256 KEK (with `keyName`: of its current version). */
  keyId?: string | undefined;
  /**
   * Name attribute of the KEK: every key with this name is a version, the newest is current. Without
   * `keyId` the current version is located on first use (and created if none exists and
   * `createIfMissing` is not false).
   */
  keyName?: string | undefined;
  /** Create (and activate) the KEK when no key has `keyName` (default true). */
  createIfMissing?: boolean | undefined;
  /** '1.4' (default: AES-GCM with additional data) or '1.2' (AES-CTR with a binding tag). */
  protocolVersion?: '1.2' | '1.4' | undefined;
  /** TLS connections kept at most (default 4). */
  maxConnections?: number | undefined;
}

const KEK_STATES: Record<number, KekState> = {
  [State.PreActive]: 'disabled',
  [State.Active]: 'enabled',
  [State.Deactivated]: 'disabled',
  [State.Compromised]: 'compromised',
  [State.Destroyed]: 'destroyed',
  [State.DestroyedCompromised]: 'destroyed',
};

function kekState(state: number): KekState {
  return KEK_STATES[state] ?? 'unknown';
}

function isReason(err: unknown, ...reasons: number[]): err is KmipResultError {
  return err instanceof KmipResultError && reasons.includes(err.resultReason);
}

/**
 * KeyProvider over a KMIP server.
 * @example
 * const kek = await KmipProvider.open({ host: 'kmip.example', tls: { ca, cert, key }, keyName: 'orders-kek' });
 * const wrapped = await kek.wrap(dek, { dekId: 'd1', keyVersion: 1, collection: 'orders', tenant: '' });
 */
export class KmipProvider extends BaseKeyProvider {
  readonly id = 'kmip';
  readonly kekId: string;
  /** The KMIP client (for key administration: Create, Revoke, Destroy ...). */
  readonly client: KmipClient;
  readonly #keyName: string | undefined;
  readonly #createIfMissing: boolean;
  readonly #gcm: boolean;
  #current: string | undefined;
  #resolving: Promise<string> | undefined;
  /** Unique Identifiers known to carry `keyName` (so to be versions of this KEK). */
  readonly #versions = new Set<string>();
  readonly #checking = new Map<string, Promise<boolean>>();

  /** @throws InvalidInputError without `keyId` or `keyName`, or with a bad protocol version */
  constructor(options: KmipProviderOptions) {
    super(options ?? {});
    if (options === null || typeof options !== 'object') throw new InvalidInputError('KmipProvider needs options { host, tls, keyId | keyName }');
    const { keyId, keyName } = options;
    if (keyId !== undefined && (typeof keyId !== 'string' || keyId === '')) throw new InvalidInputError('keyId must be a non-empty string');
    if (keyName !== undefined && (typeof keyName !== 'string' || keyName === '')) throw new InvalidInputError('keyName must be a non-empty string');
    if (keyId === undefined && keyName === undefined) throw new InvalidInputError('KmipProvider needs keyId (a Unique Identifier) or keyName');
    const version = options.protocolVersion ?? '1.4';
    if (version !== '1.2' && version !== '1.4') throw new InvalidInputError("protocolVersion must be '1.2' or '1.4'");
    const protocolVersion: ProtocolVersion = version === '1.4' ? KMIP_1_4 : KMIP_1_2;
    this.client = new KmipClient({ host: options.host, port: options.port, tls: options.tls, protocolVersion, maxConnections: options.maxConnections });
    this.kekId = keyName ?? keyId!;
    this.#keyName = keyName;
    this.#current = keyId;
    if (keyId !== undefined && keyName !== undefined) this.#versions.add(keyId);
    this.#createIfMissing = options.createIfMissing ?? true;
    this.#gcm = version === '1.4';
  }

  /** A provider whose current KEK version is already known (located or created). */
  static async open(options: KmipProviderOptions & KmipCallOptions): Promise<KmipProvider> {
    const provider = new KmipProvider(options);
    try {
      await provider.currentVersion(options);
    } catch (err) {
      await provider.close();
      throw err;
    }
    return provider;
  }

  /** The Unique Identifier new wraps use; with `keyName` located on first use (newest key with that name). */
  async currentVersion(options?: KmipCallOptions): Promise<string> {
    if (this.#current !== undefined) return this.#current;
    this.#resolving ??= this.#locate(options).finally(() => {
      this.#resolving = undefined;
    });
    return this.#resolving;
  }

  /** Locates the newest key named `keyName` again (after a rotation elsewhere). */
  async refresh(options?: KmipCallOptions): Promise<string> {
    if (this.#keyName === undefined) return this.kekId;
    this.#current = undefined;
    return this.currentVersion(options);
  }

  /**
   * Creates and activates a new version of a named KEK and makes it current; older versions keep
   * unwrapping.
   * @returns its Unique Identifier
   */
  async rotate(options?: KmipCallOptions): Promise<string> {
    if (this.#keyName === undefined) throw new NotSupportedError('a KMIP KEK named by keyId has no versions; name it by keyName to rotate');
    const uid = await this.#createKey(options);
    this.#current = uid;
    return uid;
  }

  /** Closes the TLS connections. */
  async close(): Promise<void> {
    await this.client.close();
  }

  protected async wrapKey(dek: Uint8Array, context: WrapContext, attempt: Attempt): Promise<RawWrapped> {
    const call = { signal: attempt.signal };
    const uid = await this.currentVersion(call);
    const iv = crypto.getRandomValues(new Uint8Array(this.#gcm ? GCM_IV_BYTES : CTR_IV_BYTES));
    let result;
    try {
      result = this.#gcm
        ? await this.client.encrypt({ uid, data: dek, mode: 'GCM', iv, aad: encodeWrapContext(context), tagLength: GCM_TAG_BYTES }, call)
        : await this.client.encrypt({ uid, data: dek, mode: 'CTR', iv }, call);
    } catch (err) {
      throw await this.#mapFailure(err, uid, false, call);
    }
    if (result.data.length !== DEK_BYTES) throw new ProviderError(`KMIP Encrypt returned ${result.data.length} bytes for a ${DEK_BYTES}-byte DEK`, { kind: 'protocol' });
    if (this.#gcm) {
      if (result.tag?.length !== GCM_TAG_BYTES) throw new ProviderError(`KMIP Encrypt returned no ${GCM_TAG_BYTES}-byte authentication tag`, { kind: 'protocol' });
      return { bytes: concat([iv, result.data, result.tag]), algorithm: GCM_ALGORITHM, kekVersion: uid };
    }
    return { bytes: concat([iv, result.data, await bindingTag(dek, context)]), algorithm: CTR_ALGORITHM, kekVersion: uid };
  }

  protected async unwrapKey(wrapped: WrappedKey, context: WrapContext, attempt: Attempt): Promise<Uint8Array> {
    const call = { signal: attempt.signal };
    if (wrapped.algorithm !== GCM_ALGORITHM && wrapped.algorithm !== CTR_ALGORITHM) {
      throw new InvalidInputError(`the KMIP provider unwraps ${GCM_ALGORITHM} and ${CTR_ALGORITHM}; this key says '${wrapped.algorithm}'`);
    }
    if (wrapped.algorithm === GCM_ALGORITHM && !this.#gcm) throw new NotSupportedError(`${GCM_ALGORITHM} wrapped keys need KMIP 1.4; this provider speaks 1.2`);
    const uid = await this.#versionOf(wrapped, call);
    const b = wrapped.bytes;
    if (wrapped.algorithm === GCM_ALGORITHM) {
      if (b.length !== GCM_IV_BYTES + DEK_BYTES + GCM_TAG_BYTES) throw new AuthenticationError('the wrapped DEK has the wrong length for A256GCM');
      const dek = await this.#decrypt(
        {
          uid,
          mode: 'GCM',
          iv: b.subarray(0, GCM_IV_BYTES),
          data: b.subarray(GCM_IV_BYTES, GCM_IV_BYTES + DEK_BYTES),
          tag: b.subarray(GCM_IV_BYTES + DEK_BYTES),
          aad: encodeWrapContext(context),
        },
        call,
      );
      return dek;
    }
    const parts = splitTag(b);
    if (parts === undefined || parts.blob.length !== CTR_IV_BYTES + DEK_BYTES) throw new AuthenticationError(`the wrapped DEK has the wrong length for ${CTR_ALGORITHM}`);
    const dek = await this.#decrypt({ uid, mode: 'CTR', iv: parts.blob.subarray(0, CTR_IV_BYTES), data: parts.blob.subarray(CTR_IV_BYTES) }, call);
    return checkBinding(dek, context, parts.tag);
  }

  protected async describeKey(attempt: Attempt): Promise<KekDescription> {
    const call = { signal: attempt.signal };
    const uid = await this.currentVersion(call);
    const base = { provider: this.id, kekId: this.kekId, kekVersion: uid, algorithm: this.#gcm ? GCM_ALGORITHM : CTR_ALGORITHM, canUnwrap: true };
    let attributes;
    try {
      attributes = await this.client.getAttributes(uid, ['State', 'Cryptographic Algorithm', 'Cryptographic Length'], call);
    } catch (err) {
      if (isReason(err, ResultReason.ItemNotFound)) return { ...base, state: 'destroyed', details: { kmipState: 'none (not found)' } };
      throw err;
    }
    const details: Record<string, string | number> = { protocolVersion: this.#gcm ? '1.4' : '1.2' };
    let state: KekState = 'unknown';
    for (const a of attributes) {
      if (a.name === 'State' && a.value.type === ItemType.Enumeration) {
        state = kekState(a.value.value);
        details.kmipState = nameOf(State, a.value.value);
      } else if (a.name === 'Cryptographic Length' && a.value.type === ItemType.Integer) details.cryptographicLength = a.value.value;
    }
    return { ...base, state, details };
  }

  /**
   * Revokes (an Active key) and then Destroys every version of this KEK: every key named `keyName`
   * the server locates, and the versions this provider used (or just `keyId`). KMIP refuses to
   * destroy an Active key, hence the Revoke first. Idempotent: a version already Destroyed or gone
   * (Item Not Found) counts as destroyed. Afterwards wraps and unwraps fail with KeyStateError
   * 'destroyed'; this provider does not create a new key under the name again (open a new provider
   * for a new KEK).
   */
  protected override async destroyKekKey(attempt: Attempt): Promise<RawDestruction> {
    const call = { signal: attempt.signal };
    const uids = new Set<string>(this.#keyName === undefined ? [this.kekId] : []);
    if (this.#keyName !== undefined) {
      for (const uid of await this.client.locate({ name: this.#keyName, objectType: ObjectType.SymmetricKey }, call)) uids.add(uid);
      for (const uid of this.#versions) uids.add(uid);
      if (this.#current !== undefined) uids.add(this.#current);
    }
    const destroyed: string[] = [];
    for (const uid of uids) {
      let state: number;
      try {
        state = await this.client.getState(uid, call);
      } catch (err) {
        if (isReason(err, ResultReason.ItemNotFound)) continue;
        throw err;
      }
      if (state === State.Destroyed || state === State.DestroyedCompromised) continue;
      if (state === State.Active) await revokeKmipKey(this.client, uid, false, call);
      try {
        await this.client.destroy(uid, call);
      } catch (err) {
        // Destroyed meanwhile, by another caller or our own earlier attempt whose answer was lost.
        if (!isReason(err, ResultReason.ItemNotFound)) throw err;
      }
      destroyed.push(uid);
    }
    // Keep a current version (now gone) so later wraps fail as destroyed instead of creating a new key.
    if (this.#current === undefined && this.#keyName !== undefined) this.#current = [...uids][0] ?? `${this.#keyName} (destroyed)`;
    return { state: 'destroyed', versions: destroyed };
  }

  async #decrypt(request: Parameters<KmipClient['decrypt']>[0], call: KmipCallOptions): Promise<Uint8Array> {
    let dek: Uint8Array;
    try {
      dek = await this.client.decrypt(request, call);
    } catch (err) {
      throw await this.#mapFailure(err, request.uid, true, call);
    }
    if (dek.length !== DEK_BYTES) {
      dek.fill(0);
      throw new ProviderError(`KMIP Decrypt returned ${dek.length} bytes, expected ${DEK_BYTES}`, { kind: 'protocol' });
    }
    return dek;
  }

  /** Turns a KMIP failure on key `uid` into the SDK's error for it. */
  async #mapFailure(err: unknown, uid: string, decrypting: boolean, call: KmipCallOptions): Promise<unknown> {
    if (!(err instanceof KmipResultError)) return err;
    switch (err.resultReason) {
      case ResultReason.ItemNotFound:
        return new KeyStateError(`the KMIP server has no key '${uid}' (destroyed, or never created)`, { state: 'destroyed', cause: err });
      case ResultReason.PermissionDenied:
      case ResultReason.IllegalOperation: {
        // KMIP 1.x has no reason for "not Active"; ask for the state to tell it from a policy refusal.
        let state: number;
        try {
          state = await this.client.getState(uid, call);
        } catch (inner) {
          if (isReason(inner, ResultReason.ItemNotFound)) return new KeyStateError(`the KMIP server has no key '${uid}'`, { state: 'destroyed', cause: err });
          return err;
        }
        if (state === State.Active) return err;
        return new KeyStateError(`KMIP key '${uid}' is ${nameOf(State, state)}`, { state: kekState(state), cause: err });
      }
      case ResultReason.CryptographicFailure:
      case ResultReason.InvalidMessage:
      case ResultReason.GeneralFailure:
        if (decrypting) return new AuthenticationError(`KMIP key '${uid}' refused the wrapped DEK`, { cause: err });
        return err;
      default:
        return err;
    }
  }

  /** The Unique Identifier that wrapped `wrapped`, once it is known to be a version of this KEK. */
  async #versionOf(wrapped: WrappedKey, call: KmipCallOptions): Promise<string> {
    const uid = wrapped.kekVersion ?? wrapped.kekId;
    if (this.#keyName === undefined) {
      if (uid !== this.kekId) throw new AuthenticationError(`the DEK names KMIP key '${uid}', not this provider's '${this.kekId}'`);
      return uid;
    }
    if (this.#versions.has(uid)) return uid;
    let check = this.#checking.get(uid);
    if (check === undefined) {
      check = this.#carriesName(uid, call).finally(() => this.#checking.delete(uid));
      this.#checking.set(uid, check);
    }
    if (!(await check)) throw new AuthenticationError(`KMIP key '${uid}' is not a version of '${this.kekId}'`);
    return uid;
  }

  async #carriesName(uid: string, call: KmipCallOptions): Promise<boolean> {
    let attributes;
    try {
      attributes = await this.client.getAttributes(uid, ['Name'], call);
    } catch (err) {
      throw await this.#mapFailure(err, uid, false, call);
    }
    const named = attributes.some(
      (a) => a.name === 'Name' && a.value.type === ItemType.Structure && a.value.value.some((f) => f.type === ItemType.TextString && f.value === this.#keyName),
    );
    if (named) this.#versions.add(uid);
    return named;
  }

  async #locate(call: KmipCallOptions | undefined): Promise<string> {
    const name = this.#keyName!;
    // Newest first (KMIP servers order Locate results by Initial Date); its state decides what wraps do.
    const [newest] = await this.client.locate({ name, objectType: ObjectType.SymmetricKey, maxItems: 1 }, call);
    let uid = newest;
    if (uid === undefined) {
      if (!this.#createIfMissing) throw new KeyStateError(`no KMIP key is named '${name}' (never created, or destroyed)`, { state: 'destroyed' });
      uid = await this.#createKey(call);
    }
    this.#versions.add(uid);
    this.#current ??= uid;
    return this.#current;
  }

  async #createKey(call: KmipCallOptions | undefined): Promise<string> {
    const uid = await this.client.create({ name: this.#keyName }, call);
    this.#versions.add(uid);
    await this.client.activate(uid, call);
    return uid;
  }
}

/** Revokes a KMIP key (Active to Deactivated; Compromised with the key-compromise reason). */
export async function revokeKmipKey(client: KmipClient, uid: string, compromised = false, call?: KmipCallOptions): Promise<void> {
  await client.revoke(uid, compromised ? RevocationReasonCode.KeyCompromise : RevocationReasonCode.CessationOfOperation, 'revoked by vecseal', call);
}

/** Revokes (when still Active) and destroys a KMIP key. */
export async function destroyKmipKey(client: KmipClient, uid: string, call?: KmipCallOptions): Promise<void> {
  if ((await client.getState(uid, call)) === State.Active) await revokeKmipKey(client, uid, false, call);
  await client.destroy(uid, call);
}

export { KmipClient, KmipResultError };
export type { KmipTlsOptions };
