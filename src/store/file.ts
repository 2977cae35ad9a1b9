/**
 * FileKeyStore: the Node default KeyStore, a directory that survives restarts, crashes and other
 * processes using it at the same time.
 *
 *   <path>/deks/<id hash>-<version>.dek   one DEK version per file (metadata + "VSWK" wrapped key)
 *   <path>/meta/<key hash>.meta           one meta value per file
 *   <path>/audit.log                      append-only audit records, each length-prefixed and checksummed
 *   <path>/lock                           exists while a process runs a read-check-write (_file-lock.ts)
 *   <path>/tmp/                           files being written
 *
 * Entry files are replaced whole: written to tmp/, fsync'd, renamed over the old name (rename(2) is
 * atomic), then the directory is fsync'd so the rename itself survives power loss. A reader sees the
 * old file or the new one, never a mix, so reads take no lock. Audit records are appended under the
 * lock and fsync'd before appendAudit returns; a crash can leave only the last record torn, and the
 * next locked pass (open, or the next append) cuts it off. Damage anywhere else is reported, never
 * silently cut: that would truncate an audit trail.
 *
 * Every write that checks first (create once, compare-and-set, usage counters, the next audit seq)
 * runs under the lock, so two handles in one process or in several processes cannot both win.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { ClosedError, FormatError, InvalidInputError } from '../errors.js';
import { sameBytes } from '../kms/_envelope.js';
import {
  checkAuditLine,
  checkCount,
  checkDek,
  checkDekId,
  checkMeta,
  checkPatch,
  compareDeks,
  joinDek,
  matchesFilter,
  metadataOf,
  wrappedBytes,
  type DekMetadata,
} from './_dek-record.js';
import { DEK_MAGIC, frameAudit, frameEntry, MAX_AUDIT_PAYLOAD, META_MAGIC, scanAudit, unframeEntry } from './_file-format.js';
import { sweepDeadLocks, withFileLock } from './_file-lock.js';
import type { DekExpectation, DekPatch, KeyStore, StoredAuditLine, StoredDek } from './store.js';

export interface FileKeyStoreOptions {
  /** The store's directory; created if missing. */
  path: string;
  /** How long a write waits for another process's lock before it fails; default 10 s. */
  lockTimeoutMs?: number;
}

const DEFAULT_LOCK_TIMEOUT_MS = 10_000;
/** How much of audit.log one read takes while indexing it. */
const SCAN_CHUNK_BYTES = 1 << 20;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** File names from ids: any string is a valid id, few are valid file names. The id is kept inside. */
function nameOf(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('hex').slice(0, 32);
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}

async function readIfExists(path: string): Promise<Uint8Array | undefined> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

/** fsync of a directory, so a rename or create in it survives power loss. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (err) {
    // Some platforms (Windows) cannot fsync a directory; their renames are as durable as they get.
    if (!['EISDIR', 'EINVAL', 'EPERM', 'EBADF'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
  } finally {
    await handle.close();
  }
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(out, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return out.subarray(0, done);
}

function parseDek(bytes: Uint8Array, dekId: string | undefined, version: number | undefined, file: string): StoredDek {
  const [metaBytes, wrapped] = unframeEntry(bytes, DEK_MAGIC, 2, `DEK file ${file}`);
  let meta: DekMetadata;
  try {
    meta = JSON.parse(decoder.decode(metaBytes)) as DekMetadata;
  } catch (cause) {
    throw new FormatError(`DEK file ${file} has unreadable metadata`, { cause });
  }
  if (typeof meta.dekId !== 'string' || typeof meta.version !== 'number') throw new FormatError(`DEK file ${file} lacks its id or version`);
  if ((dekId !== undefined && meta.dekId !== dekId) || (version !== undefined && meta.version !== version)) throw new FormatError(`DEK file ${file} holds another DEK than its name says`);
  return joinDek(meta, wrapped!);
}

export class FileKeyStore implements KeyStore {
  readonly #dir: string;
  readonly #lockTimeoutMs: number;
  #audit: FileHandle | undefined;
  /** Byte offset of each audit record read so far: #offsets[seq - 1]. */
  readonly #offsets: number[] = [];
  /** End of the last whole record indexed. */
  #end = 0;
  #closed = false;
  readonly #pending = new Set<Promise<unknown>>();
  /** Indexing passes of this handle run one at a time: two at once would index a record twice. */
  #indexing: Promise<unknown> = Promise.resolve();

  private constructor(dir: string, lockTimeoutMs: number) {
    this.#dir = dir;
    this.#lockTimeoutMs = lockTimeoutMs;
  }

  /**
   * Opens (and creates if missing) the store at `path`, taking over a lock left by a dead process,
   * removing half-written temp files and cutting off a torn audit tail.
   * @param options path, lockTimeoutMs
   * @returns the store
   * @throws FormatError if audit.log is damaged other than by a torn last append
   * @throws ProviderError kind 'timeout' if a live process holds the lock past lockTimeoutMs
   * @example
   * const store = await FileKeyStore.open({ path: './vecseal-keys' });
   */
  static async open(options: FileKeyStoreOptions): Promise<FileKeyStore> {
    if (options === null || typeof options !== 'object' || typeof options.path !== 'string' || options.path === '') {
      throw new InvalidInputError('FileKeyStore.open needs { path } naming a directory');
    }
    const timeout = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
    checkCount(timeout, 'lockTimeoutMs');
    const store = new FileKeyStore(resolve(options.path), timeout);
    try {
      await store.#init();
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  async #init(): Promise<void> {
    const firstCreated = await mkdir(this.#dir, { recursive: true });
    for (const sub of ['deks', 'meta', 'tmp']) await mkdir(join(this.#dir, sub), { recursive: true });
    // A new directory's own entry lives in its parent: sync that too, or a crash could lose the store.
    if (firstCreated !== undefined) await syncDir(dirname(firstCreated));
    await syncDir(this.#dir);
    await this.#locked(async () => {
      await sweepDeadLocks(this.#lockPath, this.#tmp);
      // Writes to tmp/ happen only under the lock we hold: what is there was left by a crash.
      for (const name of await readdir(this.#tmp)) if (name.startsWith('w-')) await unlink(join(this.#tmp, name)).catch(() => undefined);
      const log = join(this.#dir, 'audit.log');
      try {
        this.#audit = await open(log, 'r+');
      } catch (err) {
        if (!isMissing(err)) throw err;
        await (await open(log, 'a')).close();
        await syncDir(this.#dir);
        this.#audit = await open(log, 'r+');
      }
      await this.#index('recover');
    });
  }

  get #tmp(): string {
    return join(this.#dir, 'tmp');
  }

  get #lockPath(): string {
    return join(this.#dir, 'lock');
  }

  #dekFile(dekId: string, version: number): string {
    return `${nameOf(dekId)}-${version}.dek`;
  }

  #metaPath(key: string): string {
    return join(this.#dir, 'meta', `${nameOf(key)}.meta`);
  }

  async getDek(dekId: string, version: number): Promise<StoredDek | undefined> {
    checkDekId(dekId, version);
    return this.#run(async () => {
      const file = this.#dekFile(dekId, version);
      const bytes = await readIfExists(join(this.#dir, 'deks', file));
      return bytes && parseDek(bytes, dekId, version, file);
    });
  }

  async listDekVersions(dekId: string): Promise<StoredDek[]> {
    checkDekId(dekId, 0);
    const prefix = `${nameOf(dekId)}-`;
    return (await this.#readDeks((name) => name.startsWith(prefix))).filter((d) => d.dekId === dekId);
  }

  async listDeks(filter: { collection?: string; tenant?: string } = {}): Promise<StoredDek[]> {
    return (await this.#readDeks(() => true)).filter((d) => matchesFilter(d, filter));
  }

  async createDek(entry: StoredDek): Promise<boolean> {
    checkDek(entry);
    const bytes = frameEntry(DEK_MAGIC, [encoder.encode(JSON.stringify(metadataOf(entry))), wrappedBytes(entry.wrapped)]);
    const file = this.#dekFile(entry.dekId, entry.version);
    return this.#locked(async () => {
      if ((await readIfExists(join(this.#dir, 'deks', file))) !== undefined) return false;
      await this.#replace('deks', file, bytes);
      return true;
    });
  }

  async updateDek(dekId: string, version: number, patch: DekPatch, expected: DekExpectation = {}): Promise<boolean> {
    checkDekId(dekId, version);
    checkPatch(patch, expected);
    return this.#locked(async () => {
      const found = await this.#readDek(dekId, version);
      if (!found) return false;
      if (expected.state !== undefined && found.state !== expected.state) return false;
      if (expected.wrappedChecksum !== undefined && !sameBytes(found.wrapped.checksum, expected.wrappedChecksum)) return false;
      await this.#writeDek({
        ...found,
        state: patch.state ?? found.state,
        wrapped: patch.wrapped ?? found.wrapped,
        updatedAt: patch.updatedAt ?? found.updatedAt,
      });
      return true;
    });
  }

  async addUsage(dekId: string, version: number, records: number): Promise<number | undefined> {
    checkDekId(dekId, version);
    checkCount(records, 'records');
    return this.#locked(async () => {
      const found = await this.#readDek(dekId, version);
      if (!found) return undefined;
      const total = (found.sealedRecords ?? 0) + records;
      await this.#writeDek({ ...found, sealedRecords: total });
      return total;
    });
  }

  async appendAudit(entry: StoredAuditLine): Promise<boolean> {
    checkAuditLine(entry);
    const line = encoder.encode(entry.line);
    if (line.length > MAX_AUDIT_PAYLOAD - 8) throw new InvalidInputError(`an audit line may have at most ${MAX_AUDIT_PAYLOAD - 8} bytes; got ${line.length}`);
    const record = frameAudit(entry.seq, line);
    return this.#locked(async () => {
      await this.#index('recover');
      if (entry.seq !== this.#offsets.length + 1) return false;
      const log = this.#audit!;
      try {
        let done = 0;
        while (done < record.length) done += (await log.write(record, done, record.length - done, this.#end + done)).bytesWritten;
        await log.datasync();
      } catch (err) {
        // Leave no partial record behind for the next append to find (a crash here is cut off at open).
        await log.truncate(this.#end).catch(() => undefined);
        throw err;
      }
      this.#offsets.push(this.#end);
      this.#end += record.length;
      return true;
    });
  }

  async readAudit(from = 1, limit = Number.MAX_SAFE_INTEGER): Promise<StoredAuditLine[]> {
    checkCount(from, 'from');
    checkCount(limit, 'limit');
    return this.#run(async () => {
      // Unlocked, a record being appended right now can look damaged: the locked pass decides.
      if ((await this.#index('read')) === 'suspect') await this.#locked(() => this.#index('recover'));
      const count = this.#offsets.length;
      const first = Math.max(1, from);
      if (first > count || limit === 0) return [];
      const last = Math.min(count, first - 1 + Math.min(limit, count));
      const start = this.#offsets[first - 1]!;
      const stop = last < count ? this.#offsets[last]! : this.#end;
      const bytes = await readAt(this.#audit!, start, stop - start);
      const out: StoredAuditLine[] = [];
      for (let at = 0; at < bytes.length; ) {
        const r = scanAudit(bytes.subarray(at), true);
        if (r.kind !== 'record') throw new FormatError(`audit.log changed under an indexed record at byte ${start + at}`);
        out.push({ seq: r.seq, line: decoder.decode(r.line) });
        at += r.length;
      }
      return out;
    });
  }

  async getMeta(key: string): Promise<string | undefined> {
    checkMeta(key, '', undefined);
    return this.#run(() => this.#readMeta(key));
  }

  async setMeta(key: string, value: string, expected?: string | null): Promise<boolean> {
    checkMeta(key, value, expected);
    const bytes = frameEntry(META_MAGIC, [encoder.encode(key), encoder.encode(value)]);
    return this.#locked(async () => {
      if (expected !== undefined && ((await this.#readMeta(key)) ?? null) !== expected) return false;
      await this.#replace('meta', `${nameOf(key)}.meta`, bytes);
      return true;
    });
  }

  /** Waits for this handle's running operations, then releases its file handle. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...this.#pending]);
    await this.#audit?.close();
    this.#audit = undefined;
  }

  /** Runs an operation on this handle (refused once closed; close() waits for it). */
  #run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new ClosedError('the key store is closed'));
    const p = fn();
    this.#pending.add(p);
    void p.then(
      () => this.#pending.delete(p),
      () => this.#pending.delete(p),
    );
    return p;
  }

  #locked<T>(fn: () => Promise<T>): Promise<T> {
    return this.#run(() => withFileLock(this.#lockPath, this.#tmp, this.#lockTimeoutMs, fn));
  }

  async #readDek(dekId: string, version: number): Promise<StoredDek | undefined> {
    const file = this.#dekFile(dekId, version);
    const bytes = await readIfExists(join(this.#dir, 'deks', file));
    return bytes && parseDek(bytes, dekId, version, file);
  }

  #readDeks(match: (name: string) => boolean): Promise<StoredDek[]> {
    return this.#run(async () => {
      const out: StoredDek[] = [];
      for (const name of await readdir(join(this.#dir, 'deks'))) {
        if (!name.endsWith('.dek') || !match(name)) continue;
        const bytes = await readIfExists(join(this.#dir, 'deks', name));
        if (bytes) out.push(parseDek(bytes, undefined, undefined, name));
      }
      return out.sort(compareDeks);
    });
  }

  async #writeDek(entry: StoredDek): Promise<void> {
    const bytes = frameEntry(DEK_MAGIC, [encoder.encode(JSON.stringify(metadataOf(entry))), wrappedBytes(entry.wrapped)]);
    await this.#replace('deks', this.#dekFile(entry.dekId, entry.version), bytes);
  }

  async #readMeta(key: string): Promise<string | undefined> {
    const file = this.#metaPath(key);
    const bytes = await readIfExists(file);
    if (!bytes) return undefined;
    const [storedKey, value] = unframeEntry(bytes, META_MAGIC, 2, `meta file ${file}`);
    if (decoder.decode(storedKey) !== key) throw new FormatError(`meta file ${file} holds another key than its name says`);
    return decoder.decode(value);
  }

  /** Replaces <sub>/<name> with `bytes` atomically and durably (temp file, fsync, rename, fsync dir). */
  async #replace(sub: string, name: string, bytes: Uint8Array): Promise<void> {
    const temp = join(this.#tmp, `w-${randomUUID()}`);
    const handle = await open(temp, 'wx');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, join(this.#dir, sub, name));
    await syncDir(join(this.#dir, sub));
  }

  /**
   * Indexes audit records appended since the last call. 'recover' (under the lock) cuts off a torn
   * tail and throws on damage; 'read' (no lock) stops at anything unfinished and says 'suspect'
   * where the locked pass must decide.
   */
  #index(mode: 'read' | 'recover'): Promise<'ok' | 'suspect'> {
    const run = this.#indexing.then(() => this.#indexPass(mode));
    this.#indexing = run.catch(() => undefined);
    return run;
  }

  async #indexPass(mode: 'read' | 'recover'): Promise<'ok' | 'suspect'> {
    const log = this.#audit!;
    const size = (await log.stat()).size;
    const damaged = (why: string): 'suspect' => {
      if (mode === 'read') return 'suspect';
      throw new FormatError(`audit.log is damaged at byte ${this.#end} (${why}); it was not written by an interrupted append`);
    };
    if (size < this.#end) return damaged('the file is shorter than records already read');
    let buf: Uint8Array = new Uint8Array(0);
    let bufAt = this.#end;
    while (this.#end < size) {
      const view = buf.subarray(this.#end - bufAt);
      const r = scanAudit(view, bufAt + buf.length >= size);
      if (r.kind === 'short') {
        const want = Math.min(size - this.#end, Math.max(r.need, SCAN_CHUNK_BYTES));
        bufAt = this.#end;
        buf = await readAt(log, bufAt, want);
        if (buf.length < want) return damaged('the file shrank while it was read');
        continue;
      }
      if (r.kind === 'damaged') return damaged(r.why);
      if (r.kind === 'torn') {
        if (mode === 'recover') {
          await log.truncate(this.#end);
          await log.datasync();
        }
        return 'ok';
      }
      if (r.seq !== this.#offsets.length + 1) return damaged(`record seq ${r.seq} where ${this.#offsets.length + 1} belongs`);
      this.#offsets.push(this.#end);
      this.#end += r.length;
    }
    return 'ok';
  }
}

