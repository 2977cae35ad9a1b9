/**
 * The key manager: one DEK per collection and tenant, its versions and states, rotation, usage
 * limits, the cache of unwrapped DEKs in the workers, crypto-shredding with receipts, the access
 * policy, the audit trail of every key operation, and the notices that make a state change take
 * effect at once in this client, its workers and other tabs (BroadcastChannel).
 *
 * States (src/store/store.ts): active -> decrypt-only (rotation, usage limit) ; active or
 * decrypt-only <-> suspended (reversible) ; any -> destroyed (the wrapped key is erased).
 * Every seal and open reads the version's state from the store first; the unwrap that installs a
 * DEK in a worker checks it again before and after the provider call.
 *
 * Audit: with an AuditLog, every operation is appended before its result is handed back, and a
 * failed append fails the operation (fail closed: no key is used, and no plaintext returned,
 * without a record of it). The only events that cannot fail anything are cache expiries found by
 * the background sweep; their append errors go to onEvent's caller-visible twin, `onAuditError`.
 */
import { InvalidInputError, KeyStateError, NotSupportedError, VecsealError } from '../errors.js';
import type { AuditLog } from '../audit/log.js';
import type { AuditEvent } from '../audit/entry.js';
import type { KeyProvider, WrapContext, WrappedKey } from '../kms/provider.js';
import type { DekState, KeyStore, StoredDek } from '../store/store.js';
import type { Engine } from '../worker/engine.js';
import type { SuiteId } from '../format/index.js';
import { KeyDestroyedError } from './errors.js';
import { DekCache, type CacheLimits } from './cache.js';
import { KeyNotices, type KeyNotice } from './notices.js';
import { ANONYMOUS, checkPolicy, denialReason, policyError, type AccessPolicy, type AccessRequest, type Principal } from './policy.js';
import { finishReceipt, RECEIPT_TYPE, type KekShred, type ShreddedDek, type ShredReceipt } from './receipt.js';

export { KeyDestroyedError };
export type { ShredReceipt };

/** The DEK id of a collection and tenant: readable and unambiguous (both parts URI-encoded). */
export function dekIdFor(collection: string, tenant: string): string {
  return `dek/${encodeURIComponent(tenant)}/${encodeURIComponent(collection)}`;
}

export interface Scope {
  collection: string;
  /** '' for single-tenant apps. */
  tenant?: string;
}

/** What destroy() shreds: a collection (every tenant of it), a tenant (every collection), both, or one version of both. */
export interface DestroyScope {
  collection?: string;
  tenant?: string;
  /** Only this version (needs collection; tenant defaults to ''). */
  version?: number;
}

/** Tenants with a KEK of their own (destroyed with the tenant): a map or a lookup. */
export type TenantProviders = Readonly<Record<string, KeyProvider>> | ((tenant: string) => KeyProvider | undefined);

export interface KeyManagerOptions {
  provider: KeyProvider;
  /** Per-tenant KEKs; tenants without one use `provider`. */
  tenantProviders?: TenantProviders | undefined;
  /** Providers of KEKs rotated away from, still able to unwrap DEKs a resumed rotateKek has not reached. */
  previousProviders?: readonly KeyProvider[] | undefined;
  store: KeyStore;
  engine: Engine;
  suite?: SuiteId | undefined;
  /** Rotate a DEK before it has sealed this many records (default: no limit). */
  maxRecordsPerDek?: number | undefined;
  /** Limits on unwrapped DEKs kept in worker memory. */
  cache?: CacheLimits | undefined;
  /** Name of the BroadcastChannel that carries state changes to other clients and tabs (default 'vecseal-keys'). */
  channel?: string | false | undefined;
  /** The tamper-evident log every key operation is appended to. */
  audit?: AuditLog | undefined;
  /** Who may do what; without one everything is allowed. */
  policy?: AccessPolicy | undefined;
  /** ECDSA P-256 private key that signs shred receipts (default: none; the client passes the audit signer). */
  receiptSigner?: CryptoKey | undefined;
  /** Receives every key operation too (after the audit log has it). Its errors are ignored. */
  onEvent?: ((event: KeyEvent) => void | Promise<void>) | undefined;
  /** Told when an audit append that nothing waits for (a background cache expiry) fails. */
  onAuditError?: ((error: unknown) => void) | undefined;
}

/** A key operation, as the audit log records it. Never holds key bytes. */
export interface KeyEvent extends AuditEvent {
  operation:
    | 'generate'
    | 'unwrap'
    | 'cache-hit'
    | 'cache-miss'
    | 'cache-evict'
    | 'rotate-dek'
    | 'rotate-kek'
    | 'state-change'
    | 'destroy'
    | 'usage-limit'
    | 'seal'
    | 'open'
    | 'reencrypt'
    | 'denied'
    | 'export-audit';
  outcome: 'ok' | 'failed' | 'denied';
}

export interface DestroyOptions {
  /**
   * Also destroy (or schedule the deletion of) the tenant's own KEK at its provider, when a whole
   * tenant is destroyed and it has one in tenantProviders (default true). The shared KEK is never
   * destroyed by destroy().
   */
  destroyKek?: boolean;
  /** Passed to the provider's destroyKek (AWS KMS: 7..30 days). */
  pendingWindowInDays?: number;
  /** Passed to the provider's destroyKek (Azure: purge the soft-deleted key at once). */
  purge?: boolean;
}

export interface RotateKekOptions {
  /** Unwraps the old wrapped keys (default: the provider that wrapped each, as this manager knows them). */
  from?: KeyProvider;
  /** Only this tenant's DEKs; `to` becomes that tenant's KEK. Default: every DEK, and `to` the shared KEK. */
  tenant?: string;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

const ERASED = new Uint8Array(0);

function scopeOf(scope: Scope): { collection: string; tenant: string } {
  if (scope === null || typeof scope !== 'object' || typeof scope.collection !== 'string' || scope.collection === '') {
    throw new InvalidInputError('expected { collection, tenant? } with a non-empty collection');
  }
  const tenant = scope.tenant ?? '';
  if (typeof tenant !== 'string') throw new InvalidInputError('tenant must be a string');
  return { collection: scope.collection, tenant };
}

function contextOf(entry: StoredDek): WrapContext {
  return { dekId: entry.dekId, keyVersion: entry.version, collection: entry.collection, tenant: entry.tenant };
}

function refOf(entry: { dekId: string; version: number }): string {
  return `${entry.dekId}#${entry.version}`;
}

/** A DEK reference's collection and tenant (dekIdFor in reverse), for events that only know the ref. */
function scopeOfRef(ref: string): { collection?: string; tenant?: string } {
  const m = /^dek\/([^/#]*)\/([^/#]*)#\d+$/.exec(ref);
  return m ? { tenant: decodeURIComponent(m[1]!), collection: decodeURIComponent(m[2]!) } : {};
}

function codeOf(err: unknown): string {
  return err instanceof VecsealError ? err.code : 'error';
}

function checkProvider(provider: unknown, what: string): KeyProvider {
  const p = provider as KeyProvider;
  if (p === null || typeof p !== 'object' || typeof p.wrap !== 'function' || typeof p.unwrap !== 'function') throw new InvalidInputError(`${what} must be a KeyProvider`);
  return p;
}

export class KeyManager {
  #provider: KeyProvider;
  readonly #tenantProviders: TenantProviders | undefined;
  /** Tenant KEKs set by rotateKek({ tenant }); they win over #tenantProviders. */
  readonly #tenantOverrides = new Map<string, KeyProvider>();
  /** Every provider this manager has used, newest first: unwraps find the one that wrapped a DEK. */
  readonly #known: KeyProvider[] = [];
  readonly #store: KeyStore;
  readonly #engine: Engine;
  readonly #suite: SuiteId | undefined;
  readonly #maxRecords: number | undefined;
  readonly #cache: DekCache;
  readonly #notices: KeyNotices | undefined;
  readonly #audit: AuditLog | undefined;
  readonly #policy: AccessPolicy | undefined;
  readonly #receiptSigner: CryptoKey | undefined;
  readonly #onEvent: KeyManagerOptions['onEvent'];
  readonly #onAuditError: KeyManagerOptions['onAuditError'];
  /** In-flight DEK creations and rotations, so concurrent calls make one version. */
  readonly #creating = new Map<string, Promise<StoredDek>>();
  /** In-flight unwraps, so concurrent requests for one DEK make one provider call. */
  readonly #unwrapping = new Map<string, Promise<Uint8Array>>();

  constructor(options: KeyManagerOptions) {
    this.#provider = checkProvider(options.provider, 'provider');
    if (options.tenantProviders !== undefined && typeof options.tenantProviders !== 'function') {
      if (options.tenantProviders === null || typeof options.tenantProviders !== 'object') throw new InvalidInputError('tenantProviders must be a map of tenant to KeyProvider, or a function');
      for (const [tenant, p] of Object.entries(options.tenantProviders)) this.#remember(checkProvider(p, `tenantProviders['${tenant}']`));
    }
    this.#tenantProviders = options.tenantProviders;
    for (const p of options.previousProviders ?? []) this.#remember(checkProvider(p, 'previousProviders[]'));
    this.#remember(this.#provider);
    this.#store = options.store;
    this.#engine = options.engine;
    this.#suite = options.suite;
    if (options.maxRecordsPerDek !== undefined && (!Number.isInteger(options.maxRecordsPerDek) || options.maxRecordsPerDek < 1)) {
      throw new InvalidInputError('maxRecordsPerDek must be a positive integer');
    }
    this.#maxRecords = options.maxRecordsPerDek;
    this.#audit = options.audit;
    this.#policy = options.policy === undefined ? undefined : checkPolicy(options.policy);
    this.#receiptSigner = options.receiptSigner;
    this.#onEvent = options.onEvent;
    this.#onAuditError = options.onAuditError;
    this.#cache = new DekCache(options.engine, options.cache ?? {}, (ref, why) => {
      this.#emit({ operation: 'cache-evict', keyRef: ref, ...scopeOfRef(ref), outcome: 'ok', detail: `${why}; wiped in every worker` }, ANONYMOUS).catch((err) => this.#onAuditError?.(err));
    });
    this.#notices = options.channel === false ? undefined : KeyNotices.open(options.channel ?? 'vecseal-keys', (notice) => this.#onNotice(notice));
  }

  /** The provider that wraps new DEKs of tenants without a KEK of their own. */
  get provider(): KeyProvider {
    return this.#provider;
  }

  /** The audit log, if the client keeps one. */
  get audit(): AuditLog | undefined {
    return this.#audit;
  }

  /** How many DEKs are unwrapped in worker memory now (diagnostics and tests). */
  get cachedKeys(): number {
    return this.#cache.size;
  }

  /** The provider that wraps new DEKs of `tenant`. */
  providerFor(tenant: string): KeyProvider {
    const override = this.#tenantOverrides.get(tenant);
    if (override) return override;
    const own = this.#ownProvider(tenant);
    return own ?? this.#provider;
  }

  /**
   * Checks the policy; a denial is audited and thrown.
   * @throws PolicyError
   */
  async authorize(principal: Principal, request: AccessRequest): Promise<void> {
    const reason = denialReason(this.#policy, principal, request);
    if (reason === undefined) return;
    await this.#emit({ operation: 'denied', collection: request.collection, tenant: request.tenant, outcome: 'denied', detail: `${request.action}: ${reason}` }, principal);
    throw policyError(principal, request, reason);
  }

  /**
   * The version that seals the next `records` records: the newest active one, created on first use,
   * rotated first if sealing them would pass maxRecordsPerDek.
   */
  async dekForSeal(scope: Scope, records: number, principal: Principal = ANONYMOUS): Promise<StoredDek> {
    const { collection, tenant } = scopeOf(scope);
    const dekId = dekIdFor(collection, tenant);
    let active = await this.#activeOrCreate(dekId, collection, tenant, principal);
    if (this.#maxRecords !== undefined && (active.sealedRecords ?? 0) + records > this.#maxRecords) {
      if (records > this.#maxRecords) throw new InvalidInputError(`a batch of ${records} records is more than maxRecordsPerDek (${this.#maxRecords}); split it`);
      await this.#emit({ operation: 'usage-limit', keyRef: refOf(active), collection, tenant, outcome: 'ok', records: active.sealedRecords ?? 0, detail: `limit ${this.#maxRecords}` }, principal);
      active = await this.#rotate(active, principal);
    }
    return active;
  }

  /** Counts sealed records against a version (usage limits) and audits the seal. */
  async recordSeal(entry: StoredDek, records: number, bytes: number, principal: Principal = ANONYMOUS): Promise<void> {
    await this.#store.addUsage(entry.dekId, entry.version, records);
    this.#cache.used(refOf(entry), records, bytes);
    await this.#emit({ operation: 'seal', keyRef: refOf(entry), collection: entry.collection, tenant: entry.tenant, outcome: 'ok', records }, principal);
  }

  /** Audits an open: records opened, and how many failed (tampered, moved, wrong context). */
  async recordOpen(entry: StoredDek, opened: number, failed: number, bytes: number, principal: Principal = ANONYMOUS): Promise<void> {
    this.#cache.used(refOf(entry), 0, bytes);
    await this.#emit({ operation: 'open', keyRef: refOf(entry), collection: entry.collection, tenant: entry.tenant, outcome: opened > 0 || failed === 0 ? 'ok' : 'failed', records: opened, ...(failed ? { detail: `${failed} failed to open` } : {}) }, principal);
  }

  /** Audits a seal or open that failed as a whole (worker crash, abort, key state). */
  async recordFailure(operation: 'seal' | 'open', scope: { collection: string; tenant: string }, entry: StoredDek | undefined, err: unknown, records: number, principal: Principal = ANONYMOUS): Promise<void> {
    // The operation fails anyway with its own error; an audit failure on top of it goes to onAuditError, not over it.
    await this.#emit({ operation, keyRef: entry ? refOf(entry) : undefined, ...scope, outcome: 'failed', records, detail: codeOf(err) }, principal).catch((auditErr) => this.#onAuditError?.(auditErr));
  }

  /**
   * The version that opens records, if its state allows.
   * @throws KeyDestroyedError, KeyStateError (suspended, or no such version)
   */
  async dekForOpen(dekId: string, version: number, scope: { collection: string; tenant: string }): Promise<StoredDek> {
    const stored = await this.#store.getDek(dekId, version);
    if (!stored) throw new KeyStateError(`no DEK version ${version} for collection '${scope.collection}' and tenant '${scope.tenant}'`);
    this.#checkUsable(stored, 'open');
    return stored;
  }

  /** The engine handle of a version; its bytes are unwrapped only when a worker needs them, once for concurrent requests. */
  async handleFor(entry: StoredDek, principal: Principal = ANONYMOUS): Promise<number> {
    const ref = refOf(entry);
    const cached = this.#cache.get(ref);
    const where = { keyRef: ref, collection: entry.collection, tenant: entry.tenant, outcome: 'ok' as const };
    if (cached !== undefined) {
      await this.#emit({ operation: 'cache-hit', ...where }, principal);
      return cached;
    }
    // Registered before the audit append awaits, so concurrent callers share this handle (and its one unwrap).
    const handle = this.#engine.registerKey({ dekId: entry.dekId, keyVersion: entry.version, ...(this.#suite ? { suite: this.#suite } : {}) }, () => this.#unwrapOnce(entry, principal));
    this.#cache.add(ref, handle);
    await this.#emit({ operation: 'cache-miss', ...where }, principal);
    return handle;
  }

  /** Every version of a scope's DEK, oldest first. */
  async versions(scope: Scope): Promise<StoredDek[]> {
    const { collection, tenant } = scopeOf(scope);
    return this.#store.listDekVersions(dekIdFor(collection, tenant));
  }

  /**
   * Makes a new active version of a scope's DEK; older active versions become decrypt-only.
   * @returns the new version
   * @throws PolicyError without 'rotate'; KeyStateError if the DEK is suspended or destroyed
   */
  async rotateDek(scope: Scope, principal: Principal = ANONYMOUS): Promise<StoredDek> {
    const { collection, tenant } = scopeOf(scope);
    await this.authorize(principal, { action: 'rotate', collection, tenant });
    const active = await this.#activeOrCreate(dekIdFor(collection, tenant), collection, tenant, principal);
    return this.#rotate(active, principal);
  }

  /** Suspends versions of a scope's DEK (all by default): nothing seals or opens until resume(). */
  async suspend(scope: Scope, version?: number, principal: Principal = ANONYMOUS): Promise<void> {
    const { collection, tenant } = scopeOf(scope);
    await this.authorize(principal, { action: 'suspend', collection, tenant });
    for (const entry of await this.versions(scope)) {
      if ((version === undefined || entry.version === version) && (entry.state === 'active' || entry.state === 'decrypt-only')) await this.#moveState(entry, 'suspended', principal);
    }
  }

  /** Undoes suspend(): the newest version becomes active again, older ones decrypt-only. */
  async resume(scope: Scope, version?: number, principal: Principal = ANONYMOUS): Promise<void> {
    const { collection, tenant } = scopeOf(scope);
    await this.authorize(principal, { action: 'suspend', collection, tenant });
    const all = await this.versions(scope);
    const newest = all.at(-1)?.version;
    for (const entry of all) {
      if (entry.state !== 'suspended' || (version !== undefined && entry.version !== version)) continue;
      await this.#moveState(entry, entry.version === newest ? 'active' : 'decrypt-only', principal);
    }
  }

  /**
   * Crypto-shredding: every version of the matching DEKs is marked destroyed and its wrapped key
   * erased from the store, evicted from every worker and from other clients' caches; destroying a
   * whole tenant with a KEK of its own also destroys that KEK at its provider. Idempotent: calling
   * it again (after a crash midway) finishes the job and returns a receipt for everything matched.
   * @param scope a collection (every tenant of it), a tenant (every collection), both, or one version
   * @returns a receipt (signed when the client has a signer)
   * @throws PolicyError without 'destroy'; KeyStateError if a version changed meanwhile (call again)
   */
  async destroy(scope: DestroyScope, options: DestroyOptions = {}, principal: Principal = ANONYMOUS): Promise<ShredReceipt> {
    if (scope === null || typeof scope !== 'object' || (scope.collection === undefined && scope.tenant === undefined)) {
      throw new InvalidInputError('destroy needs a collection, a tenant, or both');
    }
    for (const field of ['collection', 'tenant'] as const) {
      if (scope[field] !== undefined && typeof scope[field] !== 'string') throw new InvalidInputError(`destroy ${field} must be a string`);
    }
    if (scope.version !== undefined && (!Number.isInteger(scope.version) || scope.version < 1 || scope.collection === undefined)) {
      throw new InvalidInputError('destroy version must be a positive integer, with a collection');
    }
    const filter: { collection?: string; tenant?: string } = {};
    if (scope.collection !== undefined) filter.collection = scope.collection;
    if (scope.tenant !== undefined || scope.version !== undefined) filter.tenant = scope.tenant ?? '';
    await this.authorize(principal, { action: 'destroy', ...filter });

    const matching = (await this.#store.listDeks(filter)).filter((d) => scope.version === undefined || d.version === scope.version);
    const destroyed: ShreddedDek[] = [];
    for (const entry of matching) {
      if (entry.state !== 'destroyed') {
        const erased: WrappedKey = { ...entry.wrapped, bytes: ERASED, parts: undefined };
        // Compare-and-set on the wrapped key: a rotation racing the shred cannot bring the bytes back.
        const ok = await this.#store.updateDek(entry.dekId, entry.version, { state: 'destroyed', wrapped: erased, updatedAt: new Date().toISOString() }, { wrappedChecksum: entry.wrapped.checksum });
        if (!ok) throw new KeyStateError(`DEK ${refOf(entry)} changed while it was being destroyed; call destroy again`);
      }
      await this.#forget(entry, 'destroyed');
      destroyed.push({ dekId: entry.dekId, version: entry.version, collection: entry.collection, tenant: entry.tenant, kekId: entry.wrapped.kekId });
      await this.#emit({ operation: 'destroy', keyRef: refOf(entry), collection: entry.collection, tenant: entry.tenant, outcome: 'ok' }, principal);
    }

    const keks: KekShred[] = [];
    if (scope.collection === undefined && scope.tenant !== undefined && options.destroyKek !== false) {
      const own = this.#tenantOverrides.get(scope.tenant) ?? this.#ownProvider(scope.tenant);
      if (own && own !== this.#provider) keks.push(await this.#destroyKek(own, scope.tenant, options, principal));
    }

    // Evidence, not belief: read every version back and check its bytes are gone.
    let verified = true;
    for (const d of destroyed) {
      const after = await this.#store.getDek(d.dekId, d.version);
      if (!after || after.state !== 'destroyed' || after.wrapped.bytes.length !== 0 || (after.wrapped.parts?.length ?? 0) !== 0) verified = false;
    }
    const at = new Date().toISOString();
    const summary = `${destroyed.length} DEK version(s)${keks.length ? `, KEK ${keks.map((k) => k.state).join('/')}` : ''}`;
    const entry = await this.#emit({ operation: 'destroy', ...filter, outcome: verified ? 'ok' : 'failed', records: destroyed.length, detail: `shred receipt: ${summary}` }, principal);
    return finishReceipt(
      {
        type: RECEIPT_TYPE,
        scope: { collection: scope.collection, tenant: scope.tenant, version: scope.version },
        destroyed,
        keks,
        principal: principal.id,
        at,
        verified,
        auditSeq: entry?.seq,
      },
      this.#receiptSigner,
    );
  }

  /**
   * Re-wraps every DEK version (not destroyed) under `to`, without touching records, like MongoDB's
   * rewrapManyDataKey. Versions already wrapped by `to`'s KEK are skipped, so an interrupted run is
   * resumed by calling it again. Afterwards `to` wraps new DEKs (of `options.tenant`, or of every
   * tenant without a KEK of its own).
   * @throws PolicyError without 'rotate'; AbortedError; the provider's errors (nothing after the failing DEK is touched)
   */
  async rotateKek(to: KeyProvider, options: RotateKekOptions = {}, principal: Principal = ANONYMOUS): Promise<{ rewrapped: number; skipped: number }> {
    checkProvider(to, 'rotateKek target');
    if (options.tenant !== undefined && typeof options.tenant !== 'string') throw new InvalidInputError('rotateKek tenant must be a string');
    await this.authorize(principal, { action: 'rotate', tenant: options.tenant });
    this.#remember(to);
    const all = (await this.#store.listDeks(options.tenant !== undefined ? { tenant: options.tenant } : {}))
      // Without a tenant, tenants with KEKs of their own keep them.
      .filter((d) => d.state !== 'destroyed' && (options.tenant !== undefined || !this.#hasOwnKek(d.tenant)));
    let rewrapped = 0;
    let skipped = 0;
    for (const entry of all) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (entry.wrapped.provider === to.id && entry.wrapped.kekId === to.kekId) {
        skipped++;
      } else {
        const ctx = contextOf(entry);
        const from = options.from ?? this.#unwrapperFor(entry);
        let ok = false;
        try {
          // Same provider object (a new KEK version): let the service re-wrap without the DEK leaving it.
          const wrapped = to === from && to.rewrap ? await to.rewrap(entry.wrapped, ctx, { signal: options.signal }) : await this.#rewrapVia(from, to, entry, ctx, options.signal);
          ok = await this.#store.updateDek(entry.dekId, entry.version, { wrapped, updatedAt: new Date().toISOString() }, { wrappedChecksum: entry.wrapped.checksum });
        } catch (err) {
          await this.#emit({ operation: 'rotate-kek', keyRef: refOf(entry), collection: entry.collection, tenant: entry.tenant, outcome: 'failed', detail: codeOf(err) }, principal);
          throw err;
        }
        if (ok) rewrapped++;
        else skipped++; // someone else re-wrapped or destroyed it meanwhile
        await this.#emit({ operation: 'rotate-kek', keyRef: refOf(entry), collection: entry.collection, tenant: entry.tenant, outcome: ok ? 'ok' : 'failed', detail: `to ${to.id}/${to.kekId}${ok ? '' : ' (changed meanwhile, skipped)'}` }, principal);
      }
      options.onProgress?.(rewrapped + skipped, all.length);
    }
    if (options.tenant !== undefined) this.#tenantOverrides.set(options.tenant, to);
    else this.#provider = to;
    return { rewrapped, skipped };
  }

  /** Appends an event of the caller's (an app operation) or the client's own (export-audit, reencrypt) to the audit trail. */
  async record(event: KeyEvent, principal: Principal = ANONYMOUS): Promise<void> {
    await this.#emit(event, principal);
  }

  /** Stops listening for other clients' notices and forgets every cached DEK. */
  async close(): Promise<void> {
    this.#notices?.close();
    this.#cache.clear();
    await this.#audit?.flush();
  }

  #hasOwnKek(tenant: string): boolean {
    return this.#tenantOverrides.has(tenant) || this.#ownProvider(tenant) !== undefined;
  }

  #ownProvider(tenant: string): KeyProvider | undefined {
    const tp = this.#tenantProviders;
    if (tp === undefined) return undefined;
    const p = typeof tp === 'function' ? tp(tenant) : Object.hasOwn(tp, tenant) ? tp[tenant] : undefined;
    if (p !== undefined) this.#remember(checkProvider(p, `the provider of tenant '${tenant}'`));
    return p;
  }

  #remember(provider: KeyProvider): void {
    const i = this.#known.indexOf(provider);
    if (i >= 0) this.#known.splice(i, 1);
    this.#known.unshift(provider);
  }

  /** The provider that can unwrap this DEK: the one whose KEK wrapped it, else the tenant's current one. */
  #unwrapperFor(entry: StoredDek): KeyProvider {
    const current = this.providerFor(entry.tenant);
    const w = entry.wrapped;
    if (current.id === w.provider && current.kekId === w.kekId) return current;
    return this.#known.find((p) => p.id === w.provider && p.kekId === w.kekId) ?? (current.id === w.provider ? current : (this.#known.find((p) => p.id === w.provider) ?? current));
  }

  async #destroyKek(provider: KeyProvider, tenant: string, options: DestroyOptions, principal: Principal): Promise<KekShred> {
    const base = { provider: provider.id, kekId: provider.kekId };
    let shred: KekShred;
    // destroyKek is optional in KeyProvider: a provider without it cannot destroy its KEK.
    if (typeof provider.destroyKek !== 'function') {
      shred = { ...base, state: 'not-supported', detail: `${provider.id} cannot destroy a KEK` };
    } else {
      try {
        const done = await provider.destroyKek({
          ...(options.pendingWindowInDays !== undefined ? { pendingWindowInDays: options.pendingWindowInDays } : {}),
          ...(options.purge !== undefined ? { purge: options.purge } : {}),
        });
        shred = { ...base, state: done.state, ...(done.deletionDate ? { deletionDate: done.deletionDate } : {}) };
      } catch (err) {
        if (err instanceof NotSupportedError) shred = { ...base, state: 'not-supported', detail: `${provider.id} cannot destroy a KEK` };
        else shred = { ...base, state: 'failed', detail: `${codeOf(err)}: call destroy again to retry` };
      }
    }
    await this.#emit({ operation: 'destroy', keyRef: provider.kekId, tenant, outcome: shred.state === 'failed' ? 'failed' : 'ok', detail: `tenant KEK ${shred.state}` }, principal);
    return shred;
  }

  async #rewrapVia(from: KeyProvider, to: KeyProvider, entry: StoredDek, ctx: WrapContext, signal: AbortSignal | undefined): Promise<WrappedKey> {
    const dek = await from.unwrap(entry.wrapped, ctx, { signal });
    try {
      return await to.wrap(dek, ctx, { signal });
    } finally {
      dek.fill(0);
    }
  }

  #checkUsable(entry: StoredDek, use: 'seal' | 'open'): void {
    if (entry.state === 'destroyed') throw new KeyDestroyedError(`DEK ${refOf(entry)} was destroyed (crypto-shredded); its records can never be opened`);
    if (entry.state === 'suspended') throw new KeyStateError(`DEK ${refOf(entry)} is suspended`, { state: 'suspended' });
    if (use === 'seal' && entry.state !== 'active') throw new KeyStateError(`DEK ${refOf(entry)} is ${entry.state}`, { state: entry.state });
  }

  async #readUsable(entry: { dekId: string; version: number }): Promise<StoredDek> {
    const current = await this.#store.getDek(entry.dekId, entry.version);
    if (!current) throw new KeyStateError(`DEK ${refOf(entry)} is gone from the store`);
    this.#checkUsable(current, 'open');
    return current;
  }

  async #unwrapOnce(entry: StoredDek, principal: Principal): Promise<Uint8Array> {
    const ref = refOf(entry);
    let pending = this.#unwrapping.get(ref);
    if (!pending) {
      pending = (async () => {
        const current = await this.#readUsable(entry);
        const where = { keyRef: ref, collection: current.collection, tenant: current.tenant };
        let dek: Uint8Array;
        try {
          dek = await this.#unwrapperFor(current).unwrap(current.wrapped, contextOf(current));
        } catch (err) {
          await this.#emit({ operation: 'unwrap', ...where, outcome: 'failed', detail: codeOf(err) }, principal);
          throw err;
        }
        try {
          // A suspend or destroy may have landed while the provider answered: it wins.
          await this.#readUsable(entry);
          await this.#emit({ operation: 'unwrap', ...where, outcome: 'ok' }, principal);
          return dek;
        } catch (err) {
          dek.fill(0);
          throw err;
        }
      })().finally(() => this.#unwrapping.delete(ref));
      this.#unwrapping.set(ref, pending);
      // Every caller gets its own copy; the shared original is wiped once all have theirs.
      void pending.then((dek) => queueMicrotask(() => dek.fill(0)), () => undefined);
    }
    return (await pending).slice();
  }

  async #activeOrCreate(dekId: string, collection: string, tenant: string, principal: Principal): Promise<StoredDek> {
    const versions = await this.#store.listDekVersions(dekId);
    const active = versions.filter((d) => d.state === 'active').at(-1);
    if (active) return active;
    const latest = versions.at(-1);
    if (latest) this.#checkUsable(latest, 'seal');
    return this.#create(dekId, collection, tenant, 1, principal);
  }

  /** Creates version `version` once per client (concurrent callers share it); another client may win the race. */
  #create(dekId: string, collection: string, tenant: string, version: number, principal: Principal): Promise<StoredDek> {
    const key = `${dekId}#${version}`;
    let pending = this.#creating.get(key);
    if (!pending) {
      pending = this.#createNow(dekId, collection, tenant, version, principal).finally(() => this.#creating.delete(key));
      this.#creating.set(key, pending);
    }
    return pending;
  }

  async #createNow(dekId: string, collection: string, tenant: string, version: number, principal: Principal): Promise<StoredDek> {
    const context: WrapContext = { dekId, keyVersion: version, collection, tenant };
    const provider = this.providerFor(tenant);
    let made: { dek: Uint8Array; wrapped: WrappedKey };
    try {
      // One round trip where the provider generates keys (AWS GenerateDataKey, Vault datakey); the DEK itself is not kept here.
      made = provider.generateDataKey
        ? await provider.generateDataKey(context)
        : await (async () => {
            const fresh = crypto.getRandomValues(new Uint8Array(32));
            try {
              return { dek: fresh, wrapped: await provider.wrap(fresh, context) };
            } catch (err) {
              fresh.fill(0);
              throw err;
            }
          })();
    } catch (err) {
      await this.#emit({ operation: 'generate', keyRef: `${dekId}#${version}`, collection, tenant, outcome: 'failed', detail: codeOf(err) }, principal);
      throw err;
    }
    made.dek.fill(0);
    const entry: StoredDek = { dekId, version, collection, tenant, state: 'active', wrapped: made.wrapped, createdAt: new Date().toISOString(), sealedRecords: 0 };
    if (await this.#store.createDek(entry)) {
      await this.#emit({ operation: 'generate', keyRef: refOf(entry), collection, tenant, outcome: 'ok', detail: `wrapped by ${provider.id}/${provider.kekId}` }, principal);
      return entry;
    }
    // Another client created this version first: use theirs.
    const theirs = await this.#store.getDek(dekId, version);
    if (!theirs) throw new KeyStateError(`DEK ${dekId} version ${version} could not be created or read`);
    return theirs;
  }

  /** Makes the version after `active` and demotes every older active version. */
  async #rotate(active: StoredDek, principal: Principal): Promise<StoredDek> {
    const versions = await this.#store.listDekVersions(active.dekId);
    const newest = versions.at(-1)!;
    // If another client rotated meanwhile, its new version is the answer.
    const next = newest.version > active.version && newest.state === 'active' ? newest : await this.#create(active.dekId, active.collection, active.tenant, newest.version + 1, principal);
    for (const old of versions) {
      if (old.version < next.version && old.state === 'active') await this.#moveState(old, 'decrypt-only', principal);
    }
    await this.#emit({ operation: 'rotate-dek', keyRef: refOf(next), collection: next.collection, tenant: next.tenant, outcome: 'ok', detail: `from version ${active.version}` }, principal);
    return next;
  }

  async #moveState(entry: StoredDek, to: DekState, principal: Principal): Promise<void> {
    const ok = await this.#store.updateDek(entry.dekId, entry.version, { state: to, updatedAt: new Date().toISOString() }, { state: entry.state });
    if (!ok) throw new KeyStateError(`DEK ${refOf(entry)} changed state while being moved to ${to}; read it again`);
    await this.#forget(entry, to);
    await this.#emit({ operation: 'state-change', keyRef: refOf(entry), collection: entry.collection, tenant: entry.tenant, outcome: 'ok', detail: `${entry.state} -> ${to}` }, principal);
  }

  /** Evicts a version's DEK from every worker here and tells other clients to do the same. */
  async #forget(entry: { dekId: string; version: number }, state: DekState): Promise<void> {
    await this.#cache.evict(refOf(entry));
    this.#notices?.post({ dekId: entry.dekId, version: entry.version, state });
  }

  #onNotice(notice: KeyNotice): void {
    // Another client changed a state: its next use reads the store again; a cached DEK must go now.
    if (notice.state !== 'active' && this.#cache.has(refOf(notice))) {
      void this.#cache.evict(refOf(notice));
      this.#emit({ operation: 'cache-evict', keyRef: refOf(notice), ...scopeOfRef(refOf(notice)), outcome: 'ok', detail: `another client made it ${notice.state}` }, ANONYMOUS).catch((err) => this.#onAuditError?.(err));
    }
  }

  /** Appends to the audit log (errors propagate: fail closed), then tells onEvent (errors ignored). */
  async #emit(event: KeyEvent, principal: Principal): Promise<{ seq: number } | undefined> {
    const full: KeyEvent = { ...event, principal: principal.id };
    for (const k of Object.keys(full) as (keyof KeyEvent)[]) if (full[k] === undefined) delete full[k];
    const entry = this.#audit ? await this.#audit.append(full) : undefined;
    try {
      await this.#onEvent?.(full);
    } catch {
      // The app's listener reports its own failures; a key operation does not fail because of it.
    }
    return entry;
  }
}
