/**
 * AuditLog: the append side of vecseal's tamper-evident audit log (issue 5, DESIGN.md component 7).
 * Each entry is hash-chained to the one before it (entry.ts gives the entry and its hash), and every
 * `checkpointEvery` entries the log signs its head with the app's ECDSA P-256 key (checkpoint.ts).
 *
 * Appends are serialized within one AuditLog (a promise queue) and safe across handles, tabs and
 * processes sharing a store: KeyStore.appendAudit is a compare-and-set on the next sequence number,
 * so a writer that loses the race reads the entries it missed and retries on top of them with the
 * next seq and the right prevHash. The log never verifies on its own; verifyAuditLog does.
 *
 * @example
 * const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
 * const log = await AuditLog.open(store, { signer: keys.privateKey });
 * await log.append({ operation: 'rotate-dek', keyRef: 'dek/acme/docs#2', tenant: 'acme', collection: 'docs', outcome: 'ok' });
 * const report = await verifyAuditLog(store, { publicKey: keys.publicKey });
 */
import { FormatError, InvalidInputError } from '../errors.js';
import type { KeyStore } from '../store/store.js';
import { assertSigningKey, CHECKPOINT_META_KEY, parseStoredCheckpoint, saveCheckpoint, signCheckpoint } from './checkpoint.js';
import {
  AUDIT_FORMAT_VERSION,
  GENESIS_HASH,
  parseAuditLine,
  sealEntry,
  validateEvent,
  type AuditCheckpoint,
  type AuditEntry,
  type AuditEvent,
  type EntryBody,
} from './entry.js';

export const DEFAULT_CHECKPOINT_EVERY = 100;
/** Entries read per call when catching up with other writers. */
const CATCH_UP_PAGE = 256;

export interface AuditLogOptions {
  /** ECDSA P-256 private key (usage 'sign') that signs checkpoints; without it nothing is signed. */
  signer?: CryptoKey | undefined;
  /** Entries between automatic signed checkpoints (default 100). Smaller: less unsigned tail, more signatures. */
  checkpointEvery?: number | undefined;
  /** Time source for entries (default: the system clock). */
  clock?: (() => Date) | undefined;
}

/** The newest entry this handle knows of. */
export interface AuditHead {
  seq: number;
  hash: string;
}

interface Tail extends AuditHead {
  /** Set when the newest entry is itself a checkpoint. */
  checkpoint: AuditCheckpoint | undefined;
}

type EntryFields = Omit<EntryBody, 'v' | 'seq' | 'time' | 'prevHash'>;

function checkStore(store: KeyStore): void {
  const methods = ['appendAudit', 'readAudit', 'getMeta', 'setMeta'] as const;
  if (store === null || typeof store !== 'object' || methods.some((m) => typeof store[m] !== 'function')) {
    throw new InvalidInputError('AuditLog.open needs a KeyStore');
  }
}

/** The last seq in a gap-free log, found in O(log n) reads: gallop from a seq known to exist, then bisect. */
async function findLastSeq(store: KeyStore, known: number): Promise<number> {
  const exists = async (seq: number): Promise<boolean> => (await store.readAudit(seq, 1)).length > 0;
  let lo = known;
  let step = 1;
  while (await exists(lo + step)) {
    lo += step;
    step *= 2;
  }
  let hi = lo + step;
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (await exists(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

export class AuditLog {
  readonly #store: KeyStore;
  readonly #signer: CryptoKey | undefined;
  readonly #every: number;
  readonly #clock: () => Date;
  #tail: Tail;
  /** Seq of the newest 'checkpoint' entry known (0: none); the next automatic one is due `#every` after it. */
  #lastCheckpointAt: number;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(store: KeyStore, signer: CryptoKey | undefined, every: number, clock: () => Date, tail: Tail, lastCheckpointAt: number) {
    this.#store = store;
    this.#signer = signer;
    this.#every = every;
    this.#clock = clock;
    this.#tail = tail;
    this.#lastCheckpointAt = lastCheckpointAt;
  }

  /**
   * Opens the log kept in `store` (empty or not) and finds its head.
   * @param store where the entries (appendAudit/readAudit) and the meta checkpoint live
   * @param options signer, checkpointEvery, clock
   * @throws InvalidInputError for a bad store, signer, checkpointEvery or clock
   * @throws FormatError if the head entry is not a valid line, or the log ends before the entry that
   *   carries the checkpoint saved in the store's meta (entries were removed: run verifyAuditLog)
   */
  static async open(store: KeyStore, options: AuditLogOptions = {}): Promise<AuditLog> {
    checkStore(store);
    if (options === null || typeof options !== 'object') throw new InvalidInputError('AuditLog options must be an object');
    const { signer, checkpointEvery = DEFAULT_CHECKPOINT_EVERY, clock = () => new Date() } = options;
    if (signer !== undefined) assertSigningKey(signer);
    if (!Number.isSafeInteger(checkpointEvery) || checkpointEvery < 1) throw new InvalidInputError('checkpointEvery must be a positive integer');
    if (typeof clock !== 'function') throw new InvalidInputError('clock must be a function returning a Date');

    const saved = parseStoredCheckpoint(await store.getMeta(CHECKPOINT_META_KEY));
    const known = saved !== undefined && saved !== 'malformed' ? saved.entrySeq : 0;
    if (known > 0 && (await store.readAudit(known, 1)).length === 0) {
      throw new FormatError(`the audit log ends before seq ${known}, the entry of its last signed checkpoint: entries were removed (run verifyAuditLog)`);
    }
    const last = await findLastSeq(store, known);
    let tail: Tail = { seq: 0, hash: GENESIS_HASH, checkpoint: undefined };
    if (last > 0) {
      const [stored] = await store.readAudit(last, 1);
      const entry = parseAuditLine(stored!.line);
      tail = { seq: entry.seq, hash: entry.hash, checkpoint: entry.checkpoint };
    }
    return new AuditLog(store, signer, checkpointEvery, clock, tail, tail.checkpoint ? tail.seq : known);
  }

  /** The newest entry this handle has written or seen (other writers may be ahead). */
  get head(): AuditHead {
    return { seq: this.#tail.seq, hash: this.#tail.hash };
  }

  /**
   * Appends one event, then a signed checkpoint if one is due.
   * @param event the closed AuditEvent shape; copied before this returns
   * @returns the entry as stored
   * @throws InvalidInputError for an event outside the closed shape or one that looks like key
   *   material (entry.ts validateEvent); nothing is written then
   * @throws whatever the store or WebCrypto throws; if signing a due checkpoint fails, the entry
   *   itself is already stored and the next append tries the checkpoint again
   */
  async append(event: AuditEvent): Promise<AuditEntry> {
    const fields = validateEvent(event);
    return this.#serial(async () => {
      const entry = (await this.#write(async () => fields))!;
      if (this.#signer && entry.seq - this.#lastCheckpointAt >= this.#every) await this.#checkpoint(true);
      return entry;
    });
  }

  /**
   * Signs the current head now (for example before an export or at shutdown), unless the head is a
   * checkpoint already, and saves it in the store's meta.
   * @returns the checkpoint; undefined for an empty log
   * @throws InvalidInputError if the log was opened without a signer
   */
  async checkpoint(): Promise<AuditCheckpoint | undefined> {
    if (!this.#signer) throw new InvalidInputError('checkpoint() needs a signer: open the AuditLog with { signer }');
    return this.#serial(() => this.#checkpoint(false));
  }

  /** The checkpoint saved in the store's meta: keep a copy outside the store to catch a rolled-back store. */
  async latestCheckpoint(): Promise<AuditCheckpoint | undefined> {
    const saved = parseStoredCheckpoint(await this.#store.getMeta(CHECKPOINT_META_KEY));
    return saved === 'malformed' ? undefined : saved?.checkpoint;
  }

  /** Resolves when every append and checkpoint started before it has finished. */
  async flush(): Promise<void> {
    await this.#serial(async () => undefined);
  }

  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task);
    // One failed append must not stop the ones queued behind it.
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #checkpoint(auto: boolean): Promise<AuditCheckpoint | undefined> {
    const signer = this.#signer!;
    const entry = await this.#write(async (tail, time) => {
      // Another writer may have signed while we raced it; its checkpoint serves.
      if (tail.seq === 0 || tail.checkpoint || (auto && tail.seq - this.#lastCheckpointAt < this.#every)) return undefined;
      return { operation: 'checkpoint', outcome: 'ok', checkpoint: await signCheckpoint(signer, tail.seq, tail.hash, time) };
    });
    const cp = entry?.checkpoint ?? this.#tail.checkpoint;
    if (cp) await saveCheckpoint(this.#store, { checkpoint: cp, entrySeq: cp.seq + 1 });
    return cp;
  }

  /**
   * Writes the entry `make` builds on the current tail; on a lost race, catches up and asks again
   * (the fields may depend on the tail, as a checkpoint's do). `make` returning undefined: nothing to write.
   */
  async #write(make: (tail: Tail, time: string) => Promise<EntryFields | undefined>): Promise<AuditEntry | undefined> {
    for (;;) {
      const time = this.#now();
      const fields = await make(this.#tail, time);
      if (fields === undefined) return undefined;
      const body: EntryBody = { v: AUDIT_FORMAT_VERSION, seq: this.#tail.seq + 1, time, ...fields, prevHash: this.#tail.hash };
      const { entry, line } = await sealEntry(body);
      if (await this.#store.appendAudit({ seq: entry.seq, line })) {
        this.#advance(entry);
        return entry;
      }
      await this.#catchUp();
    }
  }

  /** Reads the entries other writers added after our tail. */
  async #catchUp(): Promise<void> {
    const next = this.#tail.seq + 1;
    const lines = await this.#store.readAudit(next, CATCH_UP_PAGE);
    if (lines.length === 0) throw new FormatError(`the store refused audit seq ${next} but holds no entry there`);
    for (const stored of lines) {
      const entry = parseAuditLine(stored.line);
      if (entry.seq !== this.#tail.seq + 1) throw new FormatError(`audit entry at store seq ${stored.seq} carries seq ${entry.seq}`);
      this.#advance(entry);
    }
  }

  #advance(entry: AuditEntry): void {
    this.#tail = { seq: entry.seq, hash: entry.hash, checkpoint: entry.checkpoint };
    if (entry.checkpoint) this.#lastCheckpointAt = entry.seq;
  }

  #now(): string {
    const date = this.#clock();
    if (!(date instanceof Date) || Number.isNaN(date.getTime())) throw new InvalidInputError('the audit clock must return a valid Date');
    return date.toISOString();
  }
}
