/**
 * Limits on unwrapped DEKs held in worker memory, after the AWS Encryption SDK's caching CMM: a DEK
 * installed in the workers is evicted (wiped in every worker) when it is older than maxAgeMs, or has
 * sealed maxRecords records or passed maxBytes bytes; the next use unwraps it again. A timer sweeps
 * expired entries so an idle DEK does not stay in memory.
 */
import { InvalidInputError } from '../errors.js';
import type { Engine } from '../worker/engine.js';

export interface CacheLimits {
  /** Default 5 minutes. */
  maxAgeMs?: number;
  /** Records sealed with one cached DEK before it is evicted (default: unlimited). */
  maxRecords?: number;
  /** Bytes sealed or opened with one cached DEK before it is evicted (default: unlimited). */
  maxBytes?: number;
}

interface Entry {
  handle: number;
  since: number;
  records: number;
  bytes: number;
}

const DEFAULT_MAX_AGE_MS = 5 * 60_000;

export class DekCache {
  readonly #engine: Engine;
  readonly #maxAgeMs: number;
  readonly #maxRecords: number;
  readonly #maxBytes: number;
  readonly #entries = new Map<string, Entry>();
  readonly #onExpire: (ref: string, why: string) => void;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** @param onExpire told of each entry evicted for passing a limit, and which */
  constructor(engine: Engine, limits: CacheLimits, onExpire: (ref: string, why: string) => void) {
    for (const [name, value] of Object.entries(limits)) {
      if (value !== undefined && !(typeof value === 'number' && value > 0)) throw new InvalidInputError(`cache.${name} must be a positive number`);
    }
    this.#engine = engine;
    this.#maxAgeMs = limits.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
    this.#maxRecords = limits.maxRecords ?? Infinity;
    this.#maxBytes = limits.maxBytes ?? Infinity;
    this.#onExpire = onExpire;
  }

  /** The handle of a live entry; an expired one is evicted first and undefined returned. */
  get(ref: string): number | undefined {
    const e = this.#entries.get(ref);
    if (!e) return undefined;
    const why = this.#expired(e);
    if (why) {
      void this.evict(ref);
      this.#onExpire(ref, why);
      return undefined;
    }
    return e.handle;
  }

  add(ref: string, handle: number): void {
    this.#entries.set(ref, { handle, since: Date.now(), records: 0, bytes: 0 });
    this.#timer ??= this.#startSweep();
  }

  /** Counts what passed through a cached DEK; the next get() after a limit is passed evicts it. */
  used(ref: string, records: number, bytes: number): void {
    const e = this.#entries.get(ref);
    if (!e) return;
    e.records += records;
    e.bytes += bytes;
  }

  has(ref: string): boolean {
    return this.#entries.has(ref);
  }

  /** Wipes a DEK in every worker. */
  async evict(ref: string): Promise<void> {
    const e = this.#entries.get(ref);
    if (!e) return;
    this.#entries.delete(ref);
    await this.#engine.evictKey(e.handle).catch(() => undefined);
  }

  clear(): void {
    this.#entries.clear();
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** How many DEKs are cached (for tests and diagnostics). */
  get size(): number {
    return this.#entries.size;
  }

  /** Which limit an entry has passed, or undefined. */
  #expired(e: Entry): string | undefined {
    if (Date.now() - e.since >= this.#maxAgeMs) return `cached longer than maxAgeMs (${this.#maxAgeMs})`;
    if (e.records >= this.#maxRecords) return `sealed maxRecords (${this.#maxRecords}) records`;
    if (e.bytes >= this.#maxBytes) return `passed maxBytes (${this.#maxBytes}) bytes`;
    return undefined;
  }

  #startSweep(): ReturnType<typeof setInterval> {
    const timer = setInterval(() => {
      for (const [ref, e] of this.#entries) {
        const why = this.#expired(e);
        if (why) {
          void this.evict(ref);
          this.#onExpire(ref, why);
        }
      }
    }, Math.max(50, Math.min(this.#maxAgeMs / 4, 30_000)));
    // Node: an idle cache must not keep the process alive.
    (timer as { unref?: () => void }).unref?.();
    return timer;
  }
}
