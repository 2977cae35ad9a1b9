/**
 * `client.keys`: the key lifecycle as an app calls it, on behalf of the client's principal (or the
 * one given to client.as()). Each call is checked against the access policy and audited by the
 * KeyManager underneath; this class only binds the principal.
 */
import type { KeyProvider } from '../kms/provider.js';
import type { StoredDek } from '../store/store.js';
import type { DestroyOptions, DestroyScope, KeyManager, RotateKekOptions, Scope } from './manager.js';
import type { Principal } from './policy.js';
import type { ShredReceipt } from './receipt.js';

export class KeyAdmin {
  readonly #manager: KeyManager;
  readonly #principal: Principal;

  /** @internal the client makes these */
  constructor(manager: KeyManager, principal: Principal) {
    this.#manager = manager;
    this.#principal = principal;
  }

  /** The principal these calls act as. */
  get principal(): Principal {
    return this.#principal;
  }

  /** Every version of a scope's DEK with its state and usage, oldest first (no key bytes: wrapped keys only). */
  versions(scope: Scope): Promise<StoredDek[]> {
    return this.#manager.versions(scope);
  }

  /**
   * Makes a new active version; older ones become decrypt-only (their records still open).
   * @example const v = await client.keys.rotateDek({ collection: 'docs', tenant: 'acme' }); // v.version === 2
   * @throws PolicyError without 'rotate'; KeyStateError if the DEK is suspended or destroyed
   */
  rotateDek(scope: Scope): Promise<StoredDek> {
    return this.#manager.rotateDek(scope, this.#principal);
  }

  /**
   * Re-wraps every DEK under a new KEK or provider without touching records; resumable (DEKs
   * already under `to` are skipped). With `tenant`, only that tenant's DEKs, and `to` becomes its KEK.
   * @example await client.keys.rotateKek(await WebCryptoKeyProvider.generate({ kekId: 'kek-2' }));
   * @throws PolicyError without 'rotate'; AbortedError; the providers' errors
   */
  rotateKek(to: KeyProvider, options?: RotateKekOptions): Promise<{ rewrapped: number; skipped: number }> {
    return this.#manager.rotateKek(to, options, this.#principal);
  }

  /**
   * Nothing seals or opens with these versions (all by default) until resume(); takes effect at once
   * here, in every worker and in other tabs.
   * @throws PolicyError without 'suspend'
   */
  suspend(scope: Scope, version?: number): Promise<void> {
    return this.#manager.suspend(scope, version, this.#principal);
  }

  /** Undoes suspend(). @throws PolicyError without 'suspend' */
  resume(scope: Scope, version?: number): Promise<void> {
    return this.#manager.resume(scope, version, this.#principal);
  }

  /**
   * Crypto-shredding: erases every matching DEK version everywhere (store, caches, workers, other
   * tabs) and, for a whole tenant with a KEK of its own, destroys that KEK at its provider. Every
   * record under those versions then fails with KeyDestroyedError. Irreversible.
   * @example const receipt = await client.keys.destroy({ tenant: 'acme' });
   * @returns a receipt (verifyShredReceipt checks it)
   * @throws PolicyError without 'destroy'
   */
  destroy(scope: DestroyScope, options?: DestroyOptions): Promise<ShredReceipt> {
    return this.#manager.destroy(scope, options, this.#principal);
  }
}
