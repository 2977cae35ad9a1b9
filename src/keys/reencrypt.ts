/**
 * Re-encryption jobs: move stored records from older DEK versions to the newest one, page by page,
 * with progress, an AbortSignal and a checkpoint in the key store so an interrupted job resumes
 * where it stopped. The app owns the records (they live in its database): it supplies `read` (a page
 * of records after a cursor, in a stable order) and `write` (store re-sealed records in place of the
 * old ones, by id).
 *
 * Why it is safe to stop anywhere: each page is opened, re-sealed and written before the checkpoint
 * moves past it. A crash after `write` but before the checkpoint re-reads that page on resume, finds
 * its records already at the newest version and skips them. A record that fails to open (tampered,
 * another context) is left as it is and reported; it is never written.
 */
import { AbortedError, InvalidInputError, VecsealError } from '../errors.js';
import type { KeyStore } from '../store/store.js';

export interface SealedRow {
  id: string;
  ciphertext: Uint8Array;
}

export interface ReencryptPage {
  records: readonly SealedRow[];
  /** Cursor of the next page; undefined when this was the last. */
  next?: string | undefined;
}

export interface ReencryptProgress {
  /** Records read so far (resumed jobs count from the checkpoint). */
  read: number;
  /** Records re-sealed under the newest version and written. */
  rewritten: number;
  /** Records already under the newest version. */
  current: number;
  /** Records that did not open (left untouched). */
  failed: number;
}

export interface ReencryptResult extends ReencryptProgress {
  jobId: string;
  /** The DEK version records were moved to (the newest active at the end). */
  toVersion: number;
  /** The first failures (at most 100): ids and error codes, never contents. */
  failures: { id: string; code: string }[];
  /** True if this call picked up a checkpoint of an earlier, interrupted call. */
  resumed: boolean;
}

/** What the client gives the job loop: the cipher and the key bookkeeping, nothing else. */
export interface ReencryptDeps {
  store: KeyStore;
  /** The version new records are sealed with now. */
  activeVersion(): Promise<number>;
  /** Opens records; each gets its payload or its error. */
  open(records: readonly SealedRow[], signal: AbortSignal | undefined): Promise<{ payload?: Uint8Array; error?: VecsealError }[]>;
  /** Seals payloads under the active version, same ids. */
  seal(ids: readonly string[], payloads: Uint8Array[], signal: AbortSignal | undefined): Promise<SealedRow[]>;
  /** Audits the job's start, pages and end. */
  record(outcome: 'ok' | 'failed', records: number, detail: string): Promise<void>;
}

export interface ReencryptOptions {
  /** Names the checkpoint; the same id resumes an interrupted job. */
  jobId: string;
  read(cursor: string | undefined, limit: number): Promise<ReencryptPage>;
  write(records: SealedRow[]): Promise<void>;
  /** Records per page (default 4096). */
  batchSize?: number | undefined;
  signal?: AbortSignal | undefined;
  onProgress?: ((progress: ReencryptProgress) => void) | undefined;
}

interface Checkpoint extends ReencryptProgress {
  cursor: string | null;
  done: boolean;
  failures: { id: string; code: string }[];
}

const DEFAULT_BATCH = 4096;
const MAX_FAILURES_KEPT = 100;
const JOB_ID = /^[\w.:-]{1,128}$/;

export function checkpointKey(jobId: string): string {
  return `reencrypt/${jobId}`;
}

/** Key version from a record's header (FORMAT.md section 1), or -1 for a record too short to have one. */
export function recordKeyVersion(record: Uint8Array): number {
  if (!(record instanceof Uint8Array) || record.length < 10) return -1;
  return ((record[6]! << 24) | (record[7]! << 16) | (record[8]! << 8) | record[9]!) >>> 0;
}

function parseCheckpoint(value: string | undefined): Checkpoint | undefined {
  if (value === undefined) return undefined;
  const c = JSON.parse(value) as Checkpoint;
  return { cursor: c.cursor ?? null, done: c.done === true, read: c.read | 0, rewritten: c.rewritten | 0, current: c.current | 0, failed: c.failed | 0, failures: Array.isArray(c.failures) ? c.failures : [] };
}

export async function runReencrypt(options: ReencryptOptions, deps: ReencryptDeps): Promise<ReencryptResult> {
  const { jobId, read, write, batchSize = DEFAULT_BATCH, signal, onProgress } = options;
  if (typeof jobId !== 'string' || !JOB_ID.test(jobId)) throw new InvalidInputError('jobId must be 1-128 characters of letters, digits and _ . : -');
  if (typeof read !== 'function' || typeof write !== 'function') throw new InvalidInputError('reencrypt needs read(cursor, limit) and write(records) functions');
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new InvalidInputError('batchSize must be a positive integer');

  const key = checkpointKey(jobId);
  let stored = await deps.store.getMeta(key);
  const saved = parseCheckpoint(stored);
  const state: Checkpoint = saved ?? { cursor: null, done: false, read: 0, rewritten: 0, current: 0, failed: 0, failures: [] };
  const resumed = saved !== undefined && !saved.done;
  const result = async (): Promise<ReencryptResult> => ({ jobId, toVersion: await deps.activeVersion(), read: state.read, rewritten: state.rewritten, current: state.current, failed: state.failed, failures: state.failures, resumed });
  if (saved?.done) return result();

  await deps.record('ok', 0, resumed ? `job ${jobId} resumed after ${state.read} records` : `job ${jobId} started`);
  const save = async (): Promise<void> => {
    const value = JSON.stringify(state);
    // Compare-and-set: two runs of one job at once would interleave pages; the second one stops.
    if (!(await deps.store.setMeta(key, value, stored ?? null))) throw new InvalidInputError(`re-encryption job '${jobId}' is being run elsewhere at the same time (its checkpoint moved)`);
    stored = value;
  };

  try {
    for (;;) {
      if (signal?.aborted) throw new AbortedError(`re-encryption job '${jobId}' was aborted; run it again with the same jobId to resume`, { cause: signal.reason });
      const page = await read(state.cursor ?? undefined, batchSize);
      if (page === null || typeof page !== 'object' || !Array.isArray(page.records)) throw new InvalidInputError('read() must return { records, next? }');
      const target = await deps.activeVersion();
      const stale = page.records.filter((r) => recordKeyVersion(r.ciphertext) !== target);
      state.current += page.records.length - stale.length;
      if (stale.length > 0) {
        const opened = await deps.open(stale, signal);
        const ids: string[] = [];
        const payloads: Uint8Array[] = [];
        opened.forEach((o, i) => {
          if (o.payload) {
            ids.push(stale[i]!.id);
            payloads.push(o.payload);
          } else {
            state.failed++;
            if (state.failures.length < MAX_FAILURES_KEPT) state.failures.push({ id: stale[i]!.id, code: o.error?.code ?? 'error' });
          }
        });
        if (ids.length > 0) {
          const resealed = await deps.seal(ids, payloads, signal);
          for (const p of payloads) p.fill(0); // plaintext of this page: not kept past the seal
          await write(resealed);
          state.rewritten += resealed.length;
        }
      }
      state.read += page.records.length;
      const last = page.next === undefined || page.records.length === 0;
      if (!last) state.cursor = page.next!;
      state.done = last;
      await save();
      onProgress?.({ read: state.read, rewritten: state.rewritten, current: state.current, failed: state.failed });
      if (last) break;
    }
  } catch (err) {
    await deps.record('failed', state.read, `job ${jobId} stopped (${err instanceof VecsealError ? err.code : 'error'}); resumable`).catch(() => undefined);
    throw err;
  }
  const out = await result();
  await deps.record(state.failed ? 'failed' : 'ok', state.read, `job ${jobId} done: ${state.rewritten} re-sealed to version ${out.toVersion}, ${state.current} current, ${state.failed} failed`);
  return out;
}
