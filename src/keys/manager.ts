/**
 * The key manager: one DEK per collection and tenant, its versions and states, rotation, usage
 * limits, the cache of unwrapped DEKs in the workers, crypto-shredding, and the notices that make a
 * state change take effect at once in this client, its workers and other tabs (BroadcastChannel).
 *
 * States (src/store/store.ts): active -> decrypt-only (rotation, usage limit) ; active or
 * decrypt-only <-> suspended (reversible) ; any -> destroyed (the wrapped key is erased).
 * Every seal and open reads the version's state from the store first; the unwrap that installs a
 * DEK in a worker checks it again.
 */
import { InvalidInputError, KeyStateError } from '../errors.js';
import type { KeyProvider, WrapContext, WrappedKey } from '../kms/provider.js';
import type { DekState, KeyStore, StoredDek } from '../store/store.js';
import type { Engine } from '../worker/engine.js';
import type { SuiteId } from '../format/index.js';
import { KeyDestroyedError } from './errors.js';
import { DekCache, type CacheLimits } from './cache.js';
import { KeyNotices, type KeyNotice } from './notices.js';

export { KeyDestroyedError };

/** The DEK id of a collection and tenant: readable and unambiguous (both parts URI-encoded). */
export function dekIdFor(collection: string, tenant: string): string {
  return `dek/${encodeURIComponent(tenant)}/${encodeURIComponent(collection)}`;
}

export interface Scope {
  collection: string;
  /** '' for single-tenant apps. */
  tenant?: string;
}

export interface KeyManagerOptions {
  provider: KeyProvider;
  store: KeyStore;
  engine: Engine;
  suite?: SuiteId | undefined;
  /** Rotate a DEK before it has sealed this many records (default: no limit). */
  maxRecordsPerDek?: number | undefined;
  /** Limits on unwrapped DEKs kept in worker memory. */
  cache?: CacheLimits | undefined;
  /** Name of the BroadcastChannel that carries state changes to other clients and tabs (default 'vecseal-keys'). */
  channel?: string | false | undefined;
  /** Receives every key operation (the audit log). */
  onEvent?: ((event: KeyEvent) => void | Promise<void>) | undefined;
}

/** A key operation, as the audit log records it. Never holds key bytes. */
export interface KeyEvent {
  operation: 'generate' | 'unwrap' | 'cache-hit' | 'cache-miss' | 'rotate-dek' | 'rotate-kek' | 'state-change' | 'destroy' | 'usage-limit';
  keyRef: string;
  collection: string;
  tenant: string;
  outcome: 'ok' | 'failed';
  records?: number;
  detail?: string;
}

/** What destroy() returns: which DEK versions were shredded, and when. */
export interface ShredReceipt {
  destroyed: { dekId: string; version: number; collection: string; tenant: string; kekId: string }[];
  at: string;
  /** SHA-256 (hex) over the canonical JSON of `destroyed` and `at`: what a signature covers. */
  digest: string;
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

export class KeyManager {
  #provider: KeyProvider;
  readonly #store: KeyStore;
  readonly #engine: Engine;
  readonly #suite: SuiteId | undefined;
  readonly #maxRecords: number | undefined;
  readonly #cache: DekCache;
  readonly #notices: KeyNotices | undefined;
  readonly #onEvent: KeyManagerOptions['onEvent'];
  /** In-flight DEK creations and rotations, so concurrent calls make one version. */
  readonly #creating = new Map<string, Promise<StoredDek>>();
  /** In-flight unwraps, so concurrent requests for one DEK make one provider call. */
  readonly #unwrapping = new Map<string, Promise<Uint8Array>>();

  constructor(options: KeyManagerOptions) {
    this.#provider = options.provider;
    this.#store = options.store;
    this.#engine = options.engine;
    this.#suite = options.suite;
    if (options.maxRecordsPerDek !== undefined && (!Number.isInteger(options.maxRecordsPerDek) || options.maxRecordsPerDek < 1)) {
      throw new InvalidInputError('maxRecordsPerDek must be a positive integer');
    }
    this.#maxRecords = options.maxRecordsPerDek;
    this.#onEvent = options.onEvent;
    this.#cache = new DekCache(options.engine, options.cache ?? {}, (ref) => void this.#emit({ operation: 'state-change', keyRef: ref, collection: '', tenant: '', outcome: 'ok', detail: 'cache entry expired and wiped' }));
    this.#notices = options.channel === false ? undefined : KeyNotices.open(options.channel ?? 'vecseal-keys', (notice) => this.#onNotice(notice));
  }

  /** The provider that wraps new DEKs. */
  get provider(): KeyProvider {
    return this.#provider;
  }

  /**
   * The version that seals the next `records` records: the newest active one, created on first use,
   * rotated first if sealing them would pass maxRecordsPerDek.
   */
  async dekForSeal(scope: Scope, records: number): Promise<StoredDek> {
    const { collection, tenant } = scopeOf(scope);
    const dekId = dekIdFor(collection, tenant);
    let active = await this.#activeOrCreate(dekId, collection, tenant);
    if (this.#maxRecords !== undefined && (active.sealedRecords ?? 0) + records > this.#maxRecords) {
      if (records > this.#maxRecords) throw new InvalidInputError(`a batch of ${records} records is more than maxRecordsPerDek (${this.#maxRecords}); split it`);
      await this.#emit({ operation: 'usage-limit', keyRef: refOf(active), collection, tenant, outcome: 'ok', records: active.sealedRecords ?? 0 });
      active = await this.#rotate(active);
    }
    return active;
  }

  /** Counts sealed records against a version (usage limits). */
  async recordUsage(entry: StoredDek, records: number): Promise<void> {
    await this.#store.addUsage(entry.dekId, entry.version, records);
    this.#cache.used(refOf(entry), records);
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
  handleFor(entry: StoredDek): number {
    const ref = refOf(entry);
    const cached = this.#cache.get(ref);
    if (cached !== undefined) {
      void this.#emit({ operation: 'cache-hit', keyRef: ref, collection: entry.collection, tenant: entry.tenant, outcome: 'ok' });
      return cached;
    }
    void this.#emit({ operation: 'cache-miss', keyRef: ref, collection: entry.collection, tenant: entry.tenant, outcome: 'ok' });
    const handle = this.#engine.registerKey({ dekId: entry.dekId, keyVersion: entry.version, ...(this.#suite ? { suite: this.#suite } : {}) }, () => this.#unwrapOnce(entry));
    this.#cache.add(ref, handle);
    return handle;
  }

  /** Records' bytes passed through a cached DEK (cache byte limits). */
  bytesUsed(entry: StoredDek, bytes: number): void {
    this.#cache.bytes(refOf(entry), bytes);
  }

  /** Every version of a scope's DEK, oldest first. */
  async versions(scope: Scope): Promise<StoredDek[]> {
    const { collection, tenant } = scopeOf(scope);
    return this.#store.listDekVersions(dekIdFor(collection, tenant));
  }

  /**
   * Makes a new active version of a scope's DEK; older active versions become decrypt-only.
   * @returns the new version
   */
  async rotateDek(scope: Scope): Promise<StoredDek> {
    const { collection, tenant } = scopeOf(scope);
    const active = await this.#activeOrCreate(dekIdFor(collection, tenant), collection, tenant);
    return this.#rotate(active);
  }

  /** Suspends versions of a scope's DEK (all by default): nothing seals or opens until resume(). */
  async suspend(scope: Scope, version?: number): Promise<void> {
    await this.#setStates(scope, version, ['active', 'decrypt-only'], 'suspended');
  }

  /** Undoes suspend(): the newest version becomes active again, older ones decrypt-only. */
  async resume(scope: Scope, version?: number): Promise<void> {
    const all = await this.versions(scope);
    const newest = all.at(-1)?.version;
    for (const entry of all) {
      if (entry.state !== 'suspended' || (version !== undefined && entry.version !== version)) continue;
      await this.#moveState(entry, entry.version === newest ? 'active' : 'decrypt-only');
    }
  }

  /**
   * Crypto-shredding: every version of the matching DEKs is marked destroyed and its wrapped key
   * erased from the store, evicted from every worker and from other clients' caches.
   * @param scope a collection (every tenant of it), a tenant (every collection), or both
   */
  async destroy(scope: { collection?: string; tenant?: string }): Promise<ShredReceipt> {
    if (scope === null || typeof scope !== 'object' || (scope.collection === undefined && scope.tenant === undefined)) {
      throw new InvalidInputError('destroy needs a collection, a tenant, or both');
    }
    const filter: { collection?: string; tenant?: string } = {};
    if (scope.collection !== undefined) filter.collection = scope.collection;
    if (scope.tenant !== undefined) filter.tenant = scope.tenant;
    const matching = await this.#store.listDeks(filter);
    const destroyed: ShredReceipt['destroyed'] = [];
    for (const entry of matching) {
      if (entry.state !== 'destroyed') {
        const erased: WrappedKey = { ...entry.wrapped, bytes: ERASED, parts: undefined };
        // Compare-and-set on the wrapped key: a rotation racing the shred cannot bring the bytes back.
        const ok = await this.#store.updateDek(entry.dekId, entry.version, { state: 'destroyed', wrapped: erased, updatedAt: new Date().toISOString() }, { wrappedChecksum: entry.wrapped.checksum });
        if (!ok) throw new KeyStateError(`DEK ${refOf(entry)} changed while it was being destroyed; call destroy again`);
      }
      await this.#forget(entry, 'destroyed');
      destroyed.push({ dekId: entry.dekId, version: entry.version, collection: entry.collection, tenant: entry.tenant, kekId: entry.wrapped.kekId });
      await this.#emit({ operation: 'destroy', keyRef: refOf(entry), collection: entry.collection, tenant: entry.tenant, outcome: 'ok' });
    }
    const at = new Date().toISOString();
    const { sha256 } = await import('../kms/_envelope.js');
    const digest = Array.from(await sha256(new TextEncoder().encode(JSON.stringify({ destroyed, at }))), (b) => b.toString(16).padStart(2, '0')).join('');
    return { destroyed, at, digest };
  }

  /**
   * Re-wraps every DEK version (not destroyed) under `to`, without touching records, like MongoDB's
   * rewrapManyDataKey. Versions already wrapped by `to`'s KEK are skipped, so an interrupted run is
   * resumed by calling it again. `from` unwraps the old wrapped keys (default: the current provider).
   * Afterwards `to` wraps new DEKs.
   */
  async rotateKek(to: KeyProvider, options: { from?: KeyProvider; signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {}): Promise<{ rewrapped: number; skipped: number }> {
    if (typeof to?.wrap !== 'function' || typeof to.unwrap !== 'function') throw new InvalidInputError('rotateKek needs a KeyProvider');
    const from = options.from ?? this.#provider;
    const all = (await this.#store.listDeks()).filter((d) => d.state !== 'destroyed');
    let rewrapped = 0;
    let skipped = 0;
    for (const entry of all) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (entry.wrapped.provider === to.id && entry.wrapped.kekId === to.kekId) {
        skipped++;
      } else {
        const ctx = contextOf(entry);
        // Same provider object (a new KEK version): let the service re-wrap without the DEK leaving it.
        const wrapped = to === from && to.rewrap ? await to.rewrap(entry.wrapped, ctx, { signal: options.signal }) : await this.#rewrapVia(from, to, entry, ctx, options.signal);
        const ok = await this.#store.updateDek(entry.dekId, entry.version, { wrapped, updatedAt: new Date().toISOString() }, { wrappedChecksum: entry.wrapped.checksum });
        if (ok) rewrapped++;
        else skipped++; // someone else re-wrapped or destroyed it meanwhile
        await this.#emit({ operation: 'rotate-kek', keyRef: refOf(entry), collection: entry.collection, tenant: entry.tenant, outcome: ok ? 'ok' : 'failed', detail: `to ${to.id}/${to.kekId}` });
      }
      options.onProgress?.(rewrapped + skipped, all.length);
    }
    this.#provider = to;
    return { rewrapped, skipped };
  }

  /** Stops listening for other clients' notices and forgets every cached DEK. */
  async close(): Promise<void> {
    this.#notices?.close();
    this.#cache.clear();
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

  async #unwrapOnce(entry: StoredDek): Promise<Uint8Array> {
    const ref = refOf(entry);
    let pending = this.#unwrapping.get(ref);
    if (!pending) {
      pending = (async () => {
        const current = await this.#store.getDek(entry.dekId, entry.version);
        if (!current) throw new KeyStateError(`DEK ${ref} is gone from the store`);
        this.#checkUsable(current, 'open');
        try {
          const dek = await this.#provider.unwrap(current.wrapped, contextOf(current));
          await this.#emit({ operation: 'unwrap', keyRef: ref, collection: current.collection, tenant: current.tenant, outcome: 'ok' });
          return dek;
        } catch (err) {
          await this.#emit({ operation: 'unwrap', keyRef: ref, collection: current.collection, tenant: current.tenant, outcome: 'failed', detail: (err as { code?: string }).code ?? 'error' });
          throw err;
        }
      })().finally(() => this.#unwrapping.delete(ref));
      this.#unwrapping.set(ref, pending);
      // Every caller gets its own copy; the shared original is wiped once all have theirs.
      void pending.then((dek) => queueMicrotask(() => dek.fill(0)), () => undefined);
    }
    return (await pending).slice();
  }

  async #activeOrCreate(dekId: string, collection: string, tenant: string): Promise<StoredDek> {
    const versions = await this.#store.listDekVersions(dekId);
    const active = versions.filter((d) => d.state === 'active').at(-1);
    if (active) return active;
    const latest = versions.at(-1);
    if (latest) this.#checkUsable(latest, 'seal');
    return this.#create(dekId, collection, tenant, 1);
  }

  /** Creates version `version` once per client (concurrent callers share it); another client may win the race. */
  #create(dekId: string, collection: string, tenant: string, version: number): Promise<StoredDek> {
    const key = `${dekId}#${version}`;
    let pending = this.#creating.get(key);
    if (!pending) {
      pending = this.#createNow(dekId, collection, tenant, version).finally(() => this.#creating.delete(key));
      this.#creating.set(key, pending);
    }
    return pending;
  }

  async #createNow(dekId: string, collection: string, tenant: string, version: number): Promise<StoredDek> {
    const context: WrapContext = { dekId, keyVersion: version, collection, tenant };
    // One round trip where the provider generates keys (AWS GenerateDataKey, Vault datakey); the DEK itself is not kept here.
    const { dek, wrapped } = this.#provider.generateDataKey
      ? await this.#provider.generateDataKey(context)
      : await (async () => {
          const fresh = crypto.getRandomValues(new Uint8Array(32));
          try {
            return { dek: fresh, wrapped: await this.#provider.wrap(fresh, context) };
          } catch (err) {
            fresh.fill(0);
            throw err;
          }
        })();
    dek.fill(0);
    const entry: StoredDek = { dekId, version, collection, tenant, state: 'active', wrapped, createdAt: new Date().toISOString(), sealedRecords: 0 };
    if (await this.#store.createDek(entry)) {
      await this.#emit({ operation: 'generate', keyRef: refOf(entry), collection, tenant, outcome: 'ok' });
      return entry;
    }
    // Another client created this version first: use theirs.
    const theirs = await this.#store.getDek(dekId, version);
    if (!theirs) throw new KeyStateError(`DEK ${dekId} version ${version} could not be created or read`);
    return theirs;
  }

  /** Makes the version after `active` and demotes every older active version. */
  async #rotate(active: StoredDek): Promise<StoredDek> {
    const versions = await this.#store.listDekVersions(active.dekId);
    const newest = versions.at(-1)!;
    // If another client rotated meanwhile, its new version is the answer.
    const next = newest.version > active.version && newest.state === 'active' ? newest : await this.#create(active.dekId, active.collection, active.tenant, newest.version + 1);
    for (const old of versions) {
      if (old.version < next.version && old.state === 'active') await this.#moveState(old, 'decrypt-only');
    }
    await this.#emit({ operation: 'rotate-dek', keyRef: refOf(next), collection: next.collection, tenant: next.tenant, outcome: 'ok', detail: `from version ${active.version}` });
    return next;
  }

  async #setStates(scope: Scope, version: number | undefined, from: DekState[], to: DekState): Promise<void> {
    for (const entry of await this.versions(scope)) {
      if ((version === undefined || entry.version === version) && from.includes(entry.state)) await this.#moveState(entry, to);
    }
  }

  async #moveState(entry: StoredDek, to: DekState): Promise<void> {
    const ok = await this.#store.updateDek(entry.dekId, entry.version, { state: to, updatedAt: new Date().toISOString() }, { state: entry.state });
    if (!ok) throw new KeyStateError(`DEK ${refOf(entry)} changed state while being moved to ${to}; read it again`);
    await this.#forget(entry, to);
    await this.#emit({ operation: 'state-change', keyRef: refOf(entry), collection: entry.collection, tenant: entry.tenant, outcome: 'ok', detail: `${entry.state} -> ${to}` });
  }

  /** Evicts a version's DEK from every worker here and tells other clients to do the same. */
  async #forget(entry: { dekId: string; version: number }, state: DekState): Promise<void> {
    await this.#cache.evict(refOf(entry));
    this.#notices?.post({ dekId: entry.dekId, version: entry.version, state });
  }

  #onNotice(notice: KeyNotice): void {
    // Another client changed a state: its next use reads the store again; a cached DEK must go now.
    if (notice.state !== 'active') void this.#cache.evict(refOf(notice));
  }

  async #emit(event: KeyEvent): Promise<void> {
    try {
      await this.#onEvent?.(event);
    } catch {
      // The audit sink reports its own failures; a key operation does not fail because of it.
    }
  }
}
