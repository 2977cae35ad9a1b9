/**
 * verifyAuditLog: recomputes the audit chain (entry.ts), checks seq continuity, every checkpoint
 * signature (checkpoint.ts) and that the log reaches the newest signed checkpoint it is shown, and
 * says what was done to a tampered log:
 * - edited: an entry no longer matches its hash, or was rewritten with a new hash (a link breaks),
 *   or the chain differs from what a checkpoint signed;
 * - deleted: seqs are missing inside the log;
 * - inserted: an entry repeats a seq or does not fit the chain where it stands;
 * - reordered: a genuine entry (links intact on both sides) stands out of sequence;
 * - truncated: the log ends before the newest checkpoint known from the store's meta or from
 *   `options.checkpoint`;
 * - bad-signature: a checkpoint does not verify under the public key (forged, or the wrong key);
 * - malformed: a line is not an audit entry (seq is its expected position), or the meta value is
 *   not a checkpoint (seq 0).
 *
 * What truncation can be seen: entries up to the newest checkpoint the verifier trusts. The store's
 * meta copy catches a truncated log table, including its checkpoint entries; a checkpoint the app
 * keeps outside the store (`options.checkpoint`, e.g. from AuditLog.latestCheckpoint() sent to a
 * SIEM) also catches a store rolled back as a whole. Entries after the newest checkpoint are not
 * signed: up to `checkpointEvery` of them can be dropped from the tail, or forged onto it, by
 * someone who can write the store, and no verifier can tell. Call AuditLog.checkpoint() to close
 * that window when it matters (before an export, at shutdown).
 *
 * Memory: the part of the log before the first anomaly is checked in one streaming pass with
 * constant memory; from the first anomaly on, a small record per entry is kept to classify it.
 */
import { InvalidInputError } from '../errors.js';
import type { KeyStore } from '../store/store.js';
import { assertVerifyingKey, CHECKPOINT_META_KEY, parseStoredCheckpoint, verifyCheckpoint } from './checkpoint.js';
import { GENESIS_HASH, HASH_HEX, hashEntry, parseAuditLine, type AuditCheckpoint } from './entry.js';
import { splitJsonl } from './export.js';
import type { AuditHead } from './log.js';

export type AuditProblemKind = 'edited' | 'deleted' | 'inserted' | 'reordered' | 'truncated' | 'bad-signature' | 'malformed';

export interface AuditProblem {
  /** The entry concerned (for 'deleted' and 'truncated': the first missing seq). */
  seq: number;
  kind: AuditProblemKind;
  message: string;
}

export interface VerifyAuditOptions {
  /** ECDSA P-256 public key (usage 'verify') of the app's signer; null: signatures are not checked. */
  publicKey: CryptoKey | null;
  /** A checkpoint kept outside the store: the strongest truncation and rollback check. */
  checkpoint?: AuditCheckpoint | undefined;
  /** For a slice (an export with from > 1): the seq and hash of the entry before it. */
  after?: AuditHead | undefined;
}

export interface AuditVerification {
  ok: boolean;
  /** Lines examined. */
  entries: number;
  /** Newest seq in the chain. */
  lastSeq: number;
  /** The newest checkpoint whose signature verified and whose hash the chain reaches; undefined without a public key. */
  lastCheckpoint: AuditCheckpoint | undefined;
  signaturesChecked: boolean;
  /** Ordered by seq. */
  problems: AuditProblem[];
}

/** A store, a JSONL text, or lines (each one stored line). */
export type AuditSource = KeyStore | string | Iterable<string> | AsyncIterable<string>;

/** What the classifier keeps of an entry. A malformed line is a placeholder without hashes. */
interface Rec {
  pos: number;
  seq: number;
  hash: string | undefined;
  prevHash: string | undefined;
  edited: boolean;
  /** A checkpoint whose signature verified. */
  cp: AuditCheckpoint | undefined;
}

const PAGE = 1000;

class Problems {
  readonly #byKey = new Map<string, AuditProblem>();
  add(seq: number, kind: AuditProblemKind, message: string): void {
    const key = `${kind}:${seq}`;
    if (!this.#byKey.has(key)) this.#byKey.set(key, { seq, kind, message });
  }
  list(): AuditProblem[] {
    return [...this.#byKey.values()].sort((a, b) => a.seq - b.seq || a.kind.localeCompare(b.kind));
  }
}

function isStore(source: AuditSource): source is KeyStore {
  return typeof (source as KeyStore).readAudit === 'function';
}

async function* linesOf(source: AuditSource, from: number): AsyncGenerator<{ line: unknown; storeSeq: number | undefined }> {
  if (typeof source === 'string') {
    for (const line of splitJsonl(source)) yield { line, storeSeq: undefined };
  } else if (isStore(source)) {
    let next = from;
    for (;;) {
      const page = await source.readAudit(next, PAGE);
      if (page.length === 0) return;
      for (const stored of page) yield { line: stored.line, storeSeq: stored.seq };
      next = Math.max(next + page.length, page[page.length - 1]!.seq + 1);
    }
  } else {
    for await (const line of source as AsyncIterable<string>) yield { line, storeSeq: undefined };
  }
}

function checkHead(value: unknown, name: string): asserts value is AuditHead {
  const head = value as AuditHead;
  if (head === null || typeof head !== 'object' || !Number.isSafeInteger(head.seq) || head.seq < 0 || typeof head.hash !== 'string' || !HASH_HEX.test(head.hash)) {
    throw new InvalidInputError(`${name} must be { seq, hash } with a 64-hex hash`);
  }
}

/**
 * Verifies an audit log. Never throws for what it finds in the log: every finding is a problem.
 * Lines are re-derived from their parsed content, so a SIEM that re-serializes them (key order,
 * whitespace, escapes) does not break verification.
 * @param source a KeyStore (its meta checkpoint is used too), a JSONL text, or stored lines
 * @param options publicKey (null: signatures unchecked), an outside checkpoint, a slice's anchor
 * @returns ok, entries, lastSeq, lastCheckpoint, signaturesChecked and the problems by seq
 * @throws InvalidInputError for a bad source or options
 * @example
 * const report = await verifyAuditLog(store, { publicKey });
 * if (!report.ok) console.warn(report.problems);
 */
export async function verifyAuditLog(source: AuditSource, options: VerifyAuditOptions): Promise<AuditVerification> {
  const valid = source !== null && (typeof source === 'string' || (typeof source === 'object' && (isStore(source) || Symbol.iterator in source || Symbol.asyncIterator in source)));
  if (!valid) throw new InvalidInputError('verifyAuditLog needs a KeyStore, a JSONL string or an iterable of lines');
  if (options === null || typeof options !== 'object' || !('publicKey' in options)) throw new InvalidInputError('verifyAuditLog needs { publicKey } (null to skip signatures)');
  const { publicKey, checkpoint, after } = options;
  if (publicKey !== null) assertVerifyingKey(publicKey);
  if (checkpoint !== undefined) checkHead(checkpoint, 'options.checkpoint');
  if (after !== undefined) checkHead(after, 'options.after');

  const problems = new Problems();
  const start: AuditHead = after ?? { seq: 0, hash: GENESIS_HASH };
  // Checkpoints from outside the chain, read before the lines so that a writer racing us cannot
  // make a newer meta checkpoint look like truncation.
  const trusted: { cp: AuditCheckpoint; reach: number; where: string }[] = [];
  if (checkpoint) trusted.push({ cp: checkpoint, reach: checkpoint.seq, where: 'given' });
  if (typeof source === 'object' && isStore(source)) {
    const saved = parseStoredCheckpoint(await source.getMeta(CHECKPOINT_META_KEY));
    if (saved === 'malformed') problems.add(0, 'malformed', 'the checkpoint in the store meta is not one this SDK wrote');
    else if (saved) trusted.push({ cp: saved.checkpoint, reach: Math.max(saved.checkpoint.seq, saved.entrySeq), where: 'store meta' });
  }
  const watched = new Map<number, string | undefined>(trusted.map((t) => [t.cp.seq, t.cp.seq === start.seq ? start.hash : undefined]));

  // The verified prefix: `prev` is its newest entry, `base` the one before (or the start).
  let base: AuditHead = start;
  let prev: Rec | undefined;
  let rest: Rec[] | undefined;
  let entries = 0;
  let lastCheckpoint: AuditCheckpoint | undefined;
  for await (const { line, storeSeq } of linesOf(source, start.seq + 1)) {
    entries++;
    const rec = await examine(line, storeSeq ?? start.seq + entries, entries, publicKey, problems);
    const head = prev ?? start;
    if (rest === undefined && rec.hash !== undefined && rec.seq === head.seq + 1 && rec.prevHash === head.hash) {
      if (prev) base = { seq: prev.seq, hash: prev.hash! };
      prev = rec;
      if (rec.cp) lastCheckpoint = rec.cp;
      if (watched.has(rec.seq)) watched.set(rec.seq, rec.hash);
      continue;
    }
    // The newest prefix entry joins the analysis: it may be the intruder that made this one not fit.
    rest ??= prev ? [prev] : [];
    rest.push(rec);
  }

  let lastSeq = prev?.seq ?? start.seq;
  let hashAt = (seq: number): string | undefined => watched.get(seq);
  if (rest) {
    const found = classify(base, start, rest, problems);
    lastSeq = found.lastSeq;
    hashAt = (seq) => (seq <= base.seq ? watched.get(seq) : found.hashes.get(seq));
    lastCheckpoint = found.checkpoint ?? (lastCheckpoint && lastCheckpoint.seq < base.seq ? lastCheckpoint : undefined);
  }

  for (const { cp, reach, where } of trusted) {
    if (publicKey && !(await verifyCheckpoint(publicKey, cp))) {
      problems.add(cp.seq, 'bad-signature', `the ${where} checkpoint's signature does not verify under this public key`);
    } else if (lastSeq < reach) {
      problems.add(lastSeq + 1, 'truncated', `the log ends at seq ${lastSeq} but the ${where} checkpoint covers seq ${cp.seq}`);
    } else if (hashAt(cp.seq) !== undefined && hashAt(cp.seq) !== cp.hash) {
      problems.add(cp.seq, 'edited', `the chain up to seq ${cp.seq} is not the one the ${where} checkpoint signed`);
    } else if (publicKey && hashAt(cp.seq) === cp.hash && (!lastCheckpoint || cp.seq > lastCheckpoint.seq)) {
      lastCheckpoint = cp;
    }
  }

  const list = problems.list();
  return { ok: list.length === 0, entries, lastSeq, lastCheckpoint: publicKey ? lastCheckpoint : undefined, signaturesChecked: publicKey !== null, problems: list };
}

/** Parses one line, checks its own hash and, for a checkpoint entry, its statement and signature. */
async function examine(line: unknown, expectedSeq: number, pos: number, publicKey: CryptoKey | null, problems: Problems): Promise<Rec> {
  let entry;
  try {
    if (typeof line !== 'string') throw new TypeError('not a string');
    entry = parseAuditLine(line);
  } catch {
    problems.add(expectedSeq, 'malformed', 'the line is not an audit entry');
    return { pos, seq: expectedSeq, hash: undefined, prevHash: undefined, edited: false, cp: undefined };
  }
  const { hash, ...body } = entry;
  const edited = (await hashEntry(body)) !== hash;
  if (edited) problems.add(entry.seq, 'edited', 'the entry does not match its hash');
  let cp: AuditCheckpoint | undefined;
  const claim = entry.checkpoint;
  if (claim) {
    if (claim.seq !== entry.seq - 1 || claim.hash !== entry.prevHash) {
      problems.add(entry.seq, 'edited', 'the checkpoint does not cover the entry before it');
    } else if (publicKey) {
      if (await verifyCheckpoint(publicKey, claim)) cp = claim;
      else problems.add(entry.seq, 'bad-signature', "the checkpoint's signature does not verify under this public key");
    }
  }
  return { pos, seq: entry.seq, hash, prevHash: entry.prevHash, edited, cp };
}

/** Positions (in `recs` order) of a longest run of strictly increasing seq: patience sorting. */
function inSequence(recs: Rec[]): Set<Rec> {
  const tails: number[] = [];
  const before = new Array<number>(recs.length).fill(-1);
  for (let i = 0; i < recs.length; i++) {
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (recs[tails[mid]!]!.seq < recs[i]!.seq) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0) before[i] = tails[lo - 1]!;
    tails[lo] = i;
  }
  const out = new Set<Rec>();
  for (let i = tails.length ? tails[tails.length - 1]! : -1; i >= 0; i = before[i]!) out.add(recs[i]!);
  return out;
}

/**
 * Classifies what follows the first anomaly. `anchor` ends the part of the verified prefix kept
 * out of the analysis (every seq up to it is present once and linked); `start` is where the log begins.
 */
function classify(anchor: AuditHead, start: AuditHead, rest: Rec[], problems: Problems): { lastSeq: number; hashes: Map<number, string>; checkpoint: AuditCheckpoint | undefined } {
  // 1. A seq the verified prefix already has: a second copy.
  const bySeq = new Map<number, Rec[]>();
  for (const r of rest) {
    if (r.hash === undefined) continue;
    if (r.seq <= anchor.seq) problems.add(r.seq, 'inserted', 'a second entry with a seq the chain already has');
    else bySeq.set(r.seq, [...(bySeq.get(r.seq) ?? []), r]);
  }
  // 2. Several entries with one seq: keep the one that fits the chain best, the others were inserted.
  const hashesAt = (seq: number): string[] => (seq === anchor.seq ? [anchor.hash] : (bySeq.get(seq) ?? []).map((r) => r.hash!));
  const fits = (r: Rec): number =>
    ((bySeq.get(r.seq + 1) ?? []).some((n) => n.prevHash === r.hash) ? 4 : 0) + (hashesAt(r.seq - 1).includes(r.prevHash!) ? 2 : 0) + (r.edited ? 0 : 1);
  const unique: Rec[] = [];
  for (const group of bySeq.values()) {
    const best = group.reduce((a, b) => (fits(b) > fits(a) ? b : a));
    unique.push(best);
    for (const r of group) if (r !== best) problems.add(r.seq, 'inserted', 'a second entry with this seq that does not fit the chain');
  }
  // 3. Out of sequence: a genuine entry moved (it still links on both sides) or a foreign one.
  unique.sort((a, b) => a.pos - b.pos);
  const chain = new Map(unique.map((r) => [r.seq, r]));
  const ordered = inSequence(unique);
  for (const r of unique) {
    if (ordered.has(r)) continue;
    const back = (r.seq - 1 === anchor.seq ? anchor.hash : chain.get(r.seq - 1)?.hash) === r.prevHash;
    const next = chain.get(r.seq + 1);
    if (back && (next === undefined || next.prevHash === r.hash)) {
      problems.add(r.seq, 'reordered', 'the entry stands out of sequence');
    } else {
      problems.add(r.seq, 'inserted', 'an entry out of sequence that does not fit the chain');
      chain.delete(r.seq);
    }
  }
  // 4. A malformed line holds its place, so it does not also count as a deletion.
  for (const r of rest) if (r.hash === undefined && r.seq > anchor.seq && !chain.has(r.seq)) chain.set(r.seq, r);

  // 5. Walk the chain in seq order: gaps are deletions, broken links are rewritten entries.
  const seqs = [...chain.keys()].sort((a, b) => a - b);
  const breaks: number[] = [];
  let last: { seq: number; hash: string | undefined } = anchor;
  for (const seq of seqs) {
    const r = chain.get(seq)!;
    if (seq > last.seq + 1) {
      const n = seq - last.seq - 1;
      problems.add(last.seq + 1, 'deleted', `${n} ${n === 1 ? 'entry is' : 'entries are'} missing (seq ${last.seq + 1} to ${seq - 1})`);
    } else if (last.hash !== undefined && r.prevHash !== undefined && r.prevHash !== last.hash) {
      breaks.push(seq);
    }
    last = r;
  }
  // Rewriting entry s with a new hash breaks the link after it; changing its prevHash too breaks both.
  for (let i = 0; i < breaks.length; i++) {
    const s = breaks[i]!;
    if (breaks[i + 1] === s + 1 || s - 1 === start.seq) {
      problems.add(s, 'edited', 'the entry was rewritten with a new hash: it does not link to the one before');
      if (breaks[i + 1] === s + 1) i++;
    } else {
      problems.add(s - 1, 'edited', 'the entry was rewritten with a new hash: the next one does not link to it');
    }
  }

  const hashes = new Map<number, string>();
  for (const [seq, r] of chain) if (r.hash !== undefined) hashes.set(seq, r.hash);
  let checkpoint: AuditCheckpoint | undefined;
  for (const seq of seqs) {
    const cp = chain.get(seq)!.cp;
    const covered = cp && (cp.seq === anchor.seq ? anchor.hash : hashes.get(cp.seq));
    if (cp && covered === cp.hash && !breaks.includes(seq)) checkpoint = cp;
  }
  return { lastSeq: Math.max(anchor.seq, seqs.length ? seqs[seqs.length - 1]! : 0), hashes, checkpoint };
}
