/**
 * The audit log (src/audit, issue 5 "Audit log"): the chain and its documented encoding (checked by
 * an independent canonical-JSON + WebCrypto implementation here), signed checkpoints, every tamper
 * kind verifyAuditLog reports, concurrent writers on one store, the closed entry shape and its
 * refusal of key material, and the JSONL export. Portable: Node and browsers.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AuditLog,
  CHECKPOINT_META_KEY,
  exportJsonl,
  exportJsonlStream,
  GENESIS_HASH,
  parseAuditLine,
  parseJsonl,
  verifyAuditLog,
  type AuditEntry,
  type AuditEvent,
  type AuditProblemKind,
} from '../../src/audit/index.js';
import { FormatError, InvalidInputError } from '../../src/errors.js';
import { MemoryKeyStore } from '../../src/store/memory.js';
import type { KeyStore } from '../../src/store/store.js';
import type { KeyEvent } from '../../src/keys/manager.js';

// ---- an independent implementation of the documented encoding (not the module's own code) ----

/** RFC 8785 for strings, non-negative integers and objects. */
function canon(value: unknown): string {
  if (typeof value === 'string' || typeof value === 'number') return JSON.stringify(value);
  const obj = value as Record<string, unknown>;
  return `{${Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canon(obj[k])}`)
    .join(',')}}`;
}

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const base64 = (b: Uint8Array): string => btoa(String.fromCharCode(...b));
const base64url = (b: Uint8Array): string => base64(b).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

async function sha256hex(text: string): Promise<string> {
  return hex(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))));
}

/** What an attacker who can write the store does: recompute an entry's hash after changing it. */
async function rehash(entry: Record<string, unknown>): Promise<string> {
  const { hash: _old, ...body } = entry;
  return canon({ ...body, hash: await sha256hex(canon(body)) });
}

// ---- helpers ----

type Keys = CryptoKeyPair;
const newKeys = (): Promise<Keys> => crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']) as Promise<Keys>;

function event(i: number): AuditEvent {
  const ops = ['generate', 'unwrap', 'cache-hit', 'cache-miss', 'rotate-dek', 'state-change'] as const;
  return { operation: ops[i % ops.length]!, keyRef: `dek/acme/docs#${1 + (i % 3)}`, collection: 'docs', tenant: 'acme', principal: 'svc-indexer', outcome: 'ok', records: i, detail: `event ${i}` };
}

/** 35 events, a checkpoint every 10 entries: checkpoint entries at 11, 22, 33; 38 entries. */
async function buildLog(keys: Keys): Promise<{ store: MemoryKeyStore; log: AuditLog; lines: string[] }> {
  const store = new MemoryKeyStore();
  const log = await AuditLog.open(store, { signer: keys.privateKey, checkpointEvery: 10 });
  for (let i = 0; i < 35; i++) await log.append(event(i));
  return { store, log, lines: (await store.readAudit()).map((l) => l.line) };
}

/** A new store holding `lines` (any content, as a tampered table would) and the original's meta. */
async function storeOf(lines: string[], from?: KeyStore): Promise<MemoryKeyStore> {
  const store = new MemoryKeyStore();
  for (let i = 0; i < lines.length; i++) expect(await store.appendAudit({ seq: i + 1, line: lines[i]! })).toBe(true);
  const meta = await from?.getMeta(CHECKPOINT_META_KEY);
  if (meta !== undefined) await store.setMeta(CHECKPOINT_META_KEY, meta);
  return store;
}

const parsed = (line: string): Record<string, unknown> => JSON.parse(line) as Record<string, unknown>;
const kinds = (problems: { kind: AuditProblemKind }[]): AuditProblemKind[] => [...new Set(problems.map((p) => p.kind))].sort();

describe('audit log', () => {
  let keys: Keys;
  let built: Awaited<ReturnType<typeof buildLog>>;

  beforeAll(async () => {
    keys = await newKeys();
    built = await buildLog(keys);
  });

  describe('chain and checkpoints', () => {
    it('builds a gap-free chain that verifies, with signed checkpoints in the log and in meta', async () => {
      const report = await verifyAuditLog(built.store, { publicKey: keys.publicKey });
      expect(report.problems).toEqual([]);
      expect(report).toMatchObject({ ok: true, entries: 38, lastSeq: 38, signaturesChecked: true });
      expect(report.lastCheckpoint?.seq).toBe(32);
      const entries = built.lines.map(parseAuditLine);
      expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 38 }, (_, i) => i + 1));
      expect(entries.filter((e) => e.operation === 'checkpoint').map((e) => e.seq)).toEqual([11, 22, 33]);
      expect(JSON.parse((await built.store.getMeta(CHECKPOINT_META_KEY))!)).toMatchObject({ seq: 32, entry: 33, hash: entries[31]!.hash });
      expect(await built.log.latestCheckpoint()).toEqual(entries[32]!.checkpoint);
      expect(built.log.head).toEqual({ seq: 38, hash: entries[37]!.hash });
    });

    it('follows the documented encoding: canonical JSON, SHA-256 chain, ECDSA statement', async () => {
      let prevHash = GENESIS_HASH;
      for (const line of built.lines) {
        const entry = parsed(line);
        expect(line).toBe(canon(entry)); // stored as canonical JSON
        const { hash, ...body } = entry;
        expect(body.v).toBe(1);
        expect(body.prevHash).toBe(prevHash);
        expect(hash).toBe(await sha256hex(canon(body)));
        prevHash = hash as string;
        if (entry.operation === 'checkpoint') {
          const cp = entry.checkpoint as { seq: number; hash: string; time: string; signature: string };
          expect(cp.seq).toBe((entry.seq as number) - 1);
          expect(cp.hash).toBe(entry.prevHash);
          expect(cp.time).toBe(entry.time);
          const statement = new TextEncoder().encode(canon({ type: 'vecseal/audit-checkpoint/v1', seq: cp.seq, hash: cp.hash, time: cp.time }));
          const sig = Uint8Array.from(atob(cp.signature.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
          expect(sig.length).toBe(64);
          expect(await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, keys.publicKey, sig, statement)).toBe(true);
        }
      }
      expect(parsed(built.lines[0]!)).toEqual({
        v: 1, seq: 1, time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/), operation: 'generate', keyRef: 'dek/acme/docs#1',
        collection: 'docs', tenant: 'acme', principal: 'svc-indexer', outcome: 'ok', records: 0, detail: 'event 0', prevHash: GENESIS_HASH, hash: expect.any(String),
      });
    });

    it('uses the clock it is given, leaves out absent fields, and signs on demand', async () => {
      const store = new MemoryKeyStore();
      const log = await AuditLog.open(store, { signer: keys.privateKey, clock: () => new Date(Date.UTC(2030, 0, 2, 3, 4, 5, 6)) });
      expect(await log.checkpoint()).toBeUndefined(); // empty log: nothing to sign
      const entry = await log.append({ operation: 'denied', outcome: 'denied', principal: 'bob' });
      expect(Object.keys(entry).sort()).toEqual(['hash', 'operation', 'outcome', 'prevHash', 'principal', 'seq', 'time', 'v']);
      expect(entry.time).toBe('2030-01-02T03:04:05.006Z');
      const cp = await log.checkpoint();
      expect(cp).toMatchObject({ seq: 1, hash: entry.hash });
      expect(await log.checkpoint()).toEqual(cp); // head is already a checkpoint: no second one
      expect((await store.readAudit()).length).toBe(2);
      expect(await log.latestCheckpoint()).toEqual(cp);
    });

    it('continues an existing log after a reopen, finding its head and last checkpoint', async () => {
      const { store, lines } = await buildLog(keys);
      const again = await AuditLog.open(store, { signer: keys.privateKey, checkpointEvery: 10 });
      expect(again.head.seq).toBe(38);
      for (let i = 0; i < 6; i++) await again.append(event(100 + i)); // due after 43 (10 past entry 33): checkpoint entry 44
      const all = (await store.readAudit()).map((l) => parseAuditLine(l.line));
      expect(all[38]!.prevHash).toBe(parseAuditLine(lines[37]!).hash);
      expect(all.filter((e) => e.operation === 'checkpoint').map((e) => e.seq)).toEqual([11, 22, 33, 44]);
      expect((await verifyAuditLog(store, { publicKey: keys.publicKey })).ok).toBe(true);
    });

    it('writes no checkpoints without a signer; checkpoint() then refuses', async () => {
      const store = new MemoryKeyStore();
      const log = await AuditLog.open(store, { checkpointEvery: 2 });
      for (let i = 0; i < 5; i++) await log.append(event(i));
      expect((await store.readAudit()).map((l) => parseAuditLine(l.line).operation)).not.toContain('checkpoint');
      await expect(log.checkpoint()).rejects.toThrow(InvalidInputError);
      const report = await verifyAuditLog(store, { publicKey: null });
      expect(report).toMatchObject({ ok: true, lastSeq: 5, lastCheckpoint: undefined, signaturesChecked: false });
    });

    it('refuses a bad signer, checkpointEvery, store and verify options', async () => {
      const store = new MemoryKeyStore();
      const hmac = await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
      await expect(AuditLog.open(store, { signer: keys.publicKey })).rejects.toThrow(InvalidInputError);
      await expect(AuditLog.open(store, { signer: hmac as CryptoKey })).rejects.toThrow(InvalidInputError);
      await expect(AuditLog.open(store, { checkpointEvery: 0 })).rejects.toThrow(InvalidInputError);
      await expect(AuditLog.open({} as KeyStore)).rejects.toThrow(InvalidInputError);
      await expect(verifyAuditLog(store, {} as never)).rejects.toThrow(InvalidInputError);
      await expect(verifyAuditLog(store, { publicKey: keys.privateKey })).rejects.toThrow(InvalidInputError);
      await expect(verifyAuditLog(42 as never, { publicKey: null })).rejects.toThrow(InvalidInputError);
    });
  });

  describe('tamper detection', () => {
    const verify = async (lines: string[], withMeta = true) => verifyAuditLog(await storeOf(lines, withMeta ? built.store : undefined), { publicKey: keys.publicKey });

    it('an edited field (hash left as it was)', async () => {
      const lines = [...built.lines];
      lines[14] = lines[14]!.replace('"outcome":"ok"', '"outcome":"failed"');
      const report = await verify(lines);
      expect(report.ok).toBe(false);
      expect(report.problems.map(({ seq, kind }) => ({ seq, kind }))).toEqual([{ seq: 15, kind: 'edited' }]);
    });

    it('an edited entry whose hash was recomputed', async () => {
      const lines = [...built.lines];
      lines[4] = await rehash({ ...parsed(lines[4]!), principal: 'someone-else' });
      const report = await verify(lines);
      expect(report.problems.map(({ seq, kind }) => ({ seq, kind }))).toEqual([{ seq: 5, kind: 'edited' }]);
    });

    it('an edited entry with every later hash recomputed: the signed checkpoints disagree', async () => {
      const lines = [...built.lines];
      let prevHash = parsed(lines[3]!).hash;
      for (let i = 4; i < lines.length; i++) {
        const entry = { ...parsed(lines[i]!), prevHash, ...(i === 4 ? { detail: 'rewritten' } : {}) };
        lines[i] = await rehash(entry);
        prevHash = parsed(lines[i]!).hash;
      }
      const report = await verify(lines);
      expect(kinds(report.problems)).toContain('edited');
      expect(report.ok).toBe(false);
    });

    it('a deleted entry', async () => {
      const lines = built.lines.filter((_, i) => i !== 6);
      const report = await verify(lines);
      expect(report.problems.map(({ seq, kind }) => ({ seq, kind }))).toEqual([{ seq: 7, kind: 'deleted' }]);
    });

    it('several deleted entries in a row', async () => {
      const lines = built.lines.filter((_, i) => i < 12 || i > 15);
      const report = await verify(lines);
      expect(report.problems).toEqual([{ seq: 13, kind: 'deleted', message: expect.stringContaining('4 entries') }]);
    });

    it('an inserted entry (forged, well hashed, linked to the entry before it)', async () => {
      const prev = parsed(built.lines[19]!);
      const forged = await rehash({ v: 1, seq: 21, time: prev.time, operation: 'unwrap', keyRef: 'dek/acme/docs#1', outcome: 'ok', prevHash: prev.hash, hash: '' });
      const lines = [...built.lines.slice(0, 20), forged, ...built.lines.slice(20)];
      const report = await verify(lines);
      expect(report.problems.map(({ seq, kind }) => ({ seq, kind }))).toEqual([{ seq: 21, kind: 'inserted' }]);
    });

    it('an inserted copy of an earlier entry', async () => {
      const lines = [...built.lines.slice(0, 30), built.lines[2]!, ...built.lines.slice(30)];
      const report = await verify(lines);
      expect(report.problems.map(({ seq, kind }) => ({ seq, kind }))).toEqual([{ seq: 3, kind: 'inserted' }]);
    });

    it('reordered entries', async () => {
      const lines = [...built.lines];
      [lines[8], lines[9]] = [lines[9]!, lines[8]!];
      const report = await verify(lines);
      expect(kinds(report.problems)).toEqual(['reordered']);
      expect([9, 10]).toContain(report.problems[0]!.seq);
      const moved = [...built.lines];
      moved.splice(25, 0, moved.splice(2, 1)[0]!); // entry 3 moved far down
      const far = await verify(moved);
      expect(far.problems.map(({ seq, kind }) => ({ seq, kind }))).toEqual([{ seq: 3, kind: 'reordered' }]);
    });

    it('a truncated tail below the last checkpoint (store meta), also with the checkpoint entries gone', async () => {
      for (const keep of [11, 25, 32]) {
        const report = await verify(built.lines.slice(0, keep));
        expect(report.problems.map(({ seq, kind }) => ({ seq, kind }))).toEqual([{ seq: keep + 1, kind: 'truncated' }]);
      }
    });

    it('a truncated tail with the meta rolled back too: caught by a checkpoint kept outside the store', async () => {
      const outside = await built.log.latestCheckpoint();
      const lines = built.lines.slice(0, 20);
      const rolledBack = await storeOf(lines); // no meta
      expect((await verifyAuditLog(rolledBack, { publicKey: keys.publicKey })).ok).toBe(true); // the limit: nothing left to compare with
      const report = await verifyAuditLog(rolledBack, { publicKey: keys.publicKey, checkpoint: outside });
      expect(report.problems.map(({ seq, kind }) => ({ seq, kind }))).toEqual([{ seq: 21, kind: 'truncated' }]);
      const fromJsonl = await verifyAuditLog(lines.join('\n'), { publicKey: keys.publicKey, checkpoint: outside });
      expect(fromJsonl.problems.map(({ seq, kind }) => ({ seq, kind }))).toEqual([{ seq: 21, kind: 'truncated' }]);
    });

    it('the documented limit: unsigned entries after the last checkpoint can be cut unseen', async () => {
      const report = await verify(built.lines.slice(0, 35)); // 36..38 came after the checkpoint entry 33
      expect(report).toMatchObject({ ok: true, lastSeq: 35 });
      expect(report.lastCheckpoint?.seq).toBe(32);
    });

    it('a forged checkpoint signature, in the log and in the meta', async () => {
      const { store, log } = await buildLog(keys);
      await log.checkpoint(); // entry 39 covers 38
      const lines = (await store.readAudit()).map((l) => l.line);
      const cpEntry = parsed(lines[38]!);
      const cp = cpEntry.checkpoint as { signature: string };
      const flip = (s: string): string => (s[5] === 'A' ? 'B' : 'A') + s.slice(1, 5) + (s[5] === 'A' ? 'B' : 'A') + s.slice(6);
      lines[38] = await rehash({ ...cpEntry, checkpoint: { ...cp, signature: flip(cp.signature) } });
      const inLog = await verifyAuditLog(await storeOf(lines, store), { publicKey: keys.publicKey });
      expect(inLog.problems.map(({ seq, kind }) => ({ seq, kind }))).toEqual([{ seq: 39, kind: 'bad-signature' }]);

      const forgedMeta = await storeOf(lines.slice(0, 38));
      const meta = JSON.parse((await store.getMeta(CHECKPOINT_META_KEY))!) as { signature: string };
      await forgedMeta.setMeta(CHECKPOINT_META_KEY, JSON.stringify({ ...meta, signature: flip(meta.signature) }));
      const inMeta = await verifyAuditLog(forgedMeta, { publicKey: keys.publicKey });
      expect(inMeta.problems.map(({ seq, kind }) => ({ seq, kind }))).toEqual([{ seq: 38, kind: 'bad-signature' }]);
    });

    it('a chain rewritten and re-signed with another key', async () => {
      const mallory = await newKeys();
      const store = new MemoryKeyStore();
      const log = await AuditLog.open(store, { signer: mallory.privateKey, checkpointEvery: 10 });
      for (let i = 0; i < 35; i++) await log.append({ ...event(i), detail: 'rewritten history' });
      const report = await verifyAuditLog(store, { publicKey: keys.publicKey });
      expect(report.problems.map(({ seq, kind }) => ({ seq, kind }))).toEqual([
        { seq: 11, kind: 'bad-signature' }, { seq: 22, kind: 'bad-signature' }, { seq: 32, kind: 'bad-signature' }, { seq: 33, kind: 'bad-signature' },
      ]);
      expect(report.lastCheckpoint).toBeUndefined();
    });

    it('the wrong public key', async () => {
      const other = await newKeys();
      const report = await verifyAuditLog(built.store, { publicKey: other.publicKey });
      expect(report.ok).toBe(false);
      expect(kinds(report.problems)).toEqual(['bad-signature']);
      expect(report.problems.map((p) => p.seq)).toEqual([11, 22, 32, 33]);
      expect(report.lastCheckpoint).toBeUndefined();
    });

    it('a malformed line and a malformed meta value', async () => {
      const lines = [...built.lines];
      lines[16] = '{"not":"an entry"}';
      const report = await verify(lines);
      expect(report.problems.map(({ seq, kind }) => ({ seq, kind }))).toEqual([{ seq: 17, kind: 'malformed' }]);
      const store = await storeOf(built.lines);
      await store.setMeta(CHECKPOINT_META_KEY, 'garbage');
      expect((await verifyAuditLog(store, { publicKey: keys.publicKey })).problems.map((p) => p.kind)).toEqual(['malformed']);
    });

    it('AuditLog.open refuses to write on after a truncation the meta shows', async () => {
      const store = await storeOf(built.lines.slice(0, 20), built.store);
      await expect(AuditLog.open(store, { signer: keys.privateKey })).rejects.toThrow(FormatError);
    });
  });

  describe('concurrent writers', () => {
    it('two handles on one store appending at once produce one valid gap-free chain', async () => {
      const store = new MemoryKeyStore();
      let conflicts = 0;
      const appendAudit = async (entry: { seq: number; line: string }): Promise<boolean> => {
        const ok = await store.appendAudit(entry);
        if (!ok) conflicts++;
        return ok;
      };
      const counting = new Proxy(store, {
        get: (target, name) => (name === 'appendAudit' ? appendAudit : (Reflect.get(target, name) as () => unknown).bind(target)),
      });
      const [a, b] = await Promise.all([
        AuditLog.open(counting, { signer: keys.privateKey, checkpointEvery: 7 }),
        AuditLog.open(counting, { signer: keys.privateKey, checkpointEvery: 7 }),
      ]);
      const writes: Promise<AuditEntry>[] = [];
      for (let i = 0; i < 60; i++) {
        writes.push(a.append({ operation: 'unwrap', outcome: 'ok', detail: `a ${i}` }));
        writes.push(b.append({ operation: 'unwrap', outcome: 'ok', detail: `b ${i}` }));
      }
      const written = await Promise.all(writes);
      expect(conflicts).toBeGreaterThan(0); // the retry path really ran
      const entries = (await store.readAudit()).map((l) => parseAuditLine(l.line));
      expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i + 1));
      const details = entries.filter((e) => e.operation !== 'checkpoint').map((e) => e.detail).sort();
      expect(details).toEqual([...Array.from({ length: 60 }, (_, i) => `a ${i}`), ...Array.from({ length: 60 }, (_, i) => `b ${i}`)].sort());
      // Each handle's entries were appended in the order it was asked.
      for (const who of ['a', 'b']) {
        const mine = written.filter((e) => e.detail!.startsWith(who)).map((e) => e.seq);
        expect(mine).toEqual([...mine].sort((x, y) => x - y));
      }
      expect(entries.filter((e) => e.operation === 'checkpoint').length).toBeGreaterThanOrEqual(10);
      const report = await verifyAuditLog(store, { publicKey: keys.publicKey });
      expect(report.problems).toEqual([]);
      expect(report.lastCheckpoint).toBeDefined();
    });

    it('a failed append does not stop the queue behind it', async () => {
      let calls = 0;
      const log = await AuditLog.open(new MemoryKeyStore(), { clock: () => new Date(++calls === 2 ? Number.NaN : Date.now()) });
      const results = await Promise.allSettled([log.append(event(1)), log.append(event(2)), log.append(event(3))]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(log.head.seq).toBe(2);
    });
  });

  describe('closed entry shape and key material', () => {
    const dek = crypto.getRandomValues(new Uint8Array(32));
    const forms: [string, string][] = [
      ['hex', hex(dek)],
      ['HEX', hex(dek).toUpperCase()],
      ['base64', base64(dek)],
      ['base64 unpadded', base64(dek).replace(/=+$/, '')],
      ['base64url', base64url(dek)],
      ['hex in a sentence', `dek=${hex(dek)} (debug)`],
      ['base64 in a sentence', `unwrapped key: "${base64(dek)}" ok`],
      ['base64url in a path', `dek/${base64url(dek)}/docs`],
      ['String(bytes)', String(dek)],
      ['JSON array', JSON.stringify(Array.from(dek))],
      ['JSON of a Uint8Array', JSON.stringify(dek).slice(0, 200)],
      ['binary string', String.fromCharCode(...dek.map((b) => (b & 0x7f) | 0x80))],
      ['PEM', '-----BEGIN PRIVATE KEY-----'],
    ];
    const fields = ['keyRef', 'collection', 'tenant', 'principal', 'detail'] as const;

    it('refuses every printed form of a DEK in every string field, and stores none of them', async () => {
      const store = new MemoryKeyStore();
      const log = await AuditLog.open(store, { signer: keys.privateKey, checkpointEvery: 3 });
      const errors: string[] = [];
      for (const field of fields) {
        for (const [name, value] of forms) {
          const err = await log.append({ operation: 'unwrap', outcome: 'ok', [field]: value } as AuditEvent).then(() => undefined, (e: unknown) => e);
          expect(err, `${field} / ${name}`).toBeInstanceOf(InvalidInputError);
          errors.push(String((err as Error).message));
        }
        await expect(log.append({ operation: 'unwrap', outcome: 'ok', [field]: dek } as never)).rejects.toThrow(/binary data/);
        await expect(log.append({ operation: 'unwrap', outcome: 'ok', [field]: dek.buffer } as never)).rejects.toThrow(/binary data/);
        await expect(log.append({ operation: 'unwrap', outcome: 'ok', [field]: Array.from(dek) } as never)).rejects.toThrow(InvalidInputError);
      }
      for (let i = 0; i < 7; i++) await log.append(event(i)); // legitimate entries and checkpoints around the refusals
      const stored = [...(await store.readAudit()).map((l) => l.line), (await store.getMeta(CHECKPOINT_META_KEY))!];
      expect(stored.length).toBe(7 + 2 + 1);
      const needles = [hex(dek), base64(dek).replace(/=+$/, ''), base64url(dek), String(dek), String.fromCharCode(...dek)];
      for (const text of [...stored, ...errors]) for (const needle of needles) expect(text.toLowerCase().includes(needle.toLowerCase())).toBe(false);
    });

    it('keeps the entry shape closed: unknown fields, wrong types, bounds', async () => {
      const store = new MemoryKeyStore();
      const log = await AuditLog.open(store);
      const bad: unknown[] = [
        { operation: 'unwrap', outcome: 'ok', dek: 'x' },
        { operation: 'unwrap', outcome: 'ok', key: 'x' },
        { operation: 'unwrap', outcome: 'ok', [hex(dek)]: 1 },
        { operation: 'unwrap', outcome: 'ok', detail: { nested: 'x' } },
        { operation: 'unwrap', outcome: 'ok', detail: 'x'.repeat(201) },
        { operation: 'unwrap', outcome: 'ok', keyRef: 'k'.repeat(257) },
        { operation: 'unwrap', outcome: 'ok', detail: 'line\nbreak' },
        { operation: 'unwrap', outcome: 'ok', detail: 'lone \ud800 surrogate' },
        { operation: 'unwrap', outcome: 'ok', records: -1 },
        { operation: 'unwrap', outcome: 'ok', records: 1.5 },
        { operation: 'unwrap', outcome: 'maybe' },
        { operation: 'checkpoint', outcome: 'ok' },
        { operation: 'Unwrap Now', outcome: 'ok' },
        { outcome: 'ok' },
        new (class Ev { operation = 'unwrap'; outcome = 'ok'; })(),
        null,
        'unwrap',
      ];
      for (const ev of bad) {
        const err = await log.append(ev as AuditEvent).then(() => undefined, (e: unknown) => e);
        expect(err).toBeInstanceOf(InvalidInputError);
        expect(String((err as Error).message)).not.toContain(hex(dek));
      }
      expect(await store.readAudit()).toEqual([]);
      // The event object is copied: changing it afterwards changes nothing.
      const ev: AuditEvent = { operation: 'x-app-export', outcome: 'ok', detail: 'before' };
      const pending = log.append(ev);
      ev.detail = 'after';
      expect((await pending).detail).toBe('before');
    });

    it("takes the key manager's events as they are (onEvent: (e) => log.append(e))", async () => {
      const store = new MemoryKeyStore();
      const log = await AuditLog.open(store);
      const events: KeyEvent[] = [
        { operation: 'generate', keyRef: 'dek/acme/docs#1', collection: 'docs', tenant: 'acme', outcome: 'ok' },
        { operation: 'state-change', keyRef: 'dek/acme/docs#1', collection: '', tenant: '', outcome: 'ok', detail: 'cache entry expired and wiped' },
        { operation: 'rotate-kek', keyRef: 'dek/acme/docs#1', collection: 'docs', tenant: 'acme', outcome: 'failed', detail: 'to aws-kms/arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab' },
        { operation: 'usage-limit', keyRef: 'dek/acme/docs#1', collection: 'docs', tenant: 'acme', outcome: 'ok', records: 4_294_967_296 },
        { operation: 'unwrap', keyRef: 'dek/acme/docs#2', collection: 'docs', tenant: 'acme', outcome: 'failed', detail: 'AUTHENTICATION_FAILED' },
      ];
      for (const e of events) await log.append(e);
      expect((await store.readAudit()).map((l) => parseAuditLine(l.line).operation)).toEqual(events.map((e) => e.operation));
    });

    it('accepts the identifiers real deployments use', async () => {
      const log = await AuditLog.open(new MemoryKeyStore());
      const ok: AuditEvent[] = [
        { operation: 'rotate-kek', outcome: 'ok', keyRef: 'arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab' },
        { operation: 'rotate-kek', outcome: 'ok', keyRef: 'https://myvault.vault.azure.net/keys/tenant-kek/0123456789abcdef0123456789abcdef' },
        { operation: 'rotate-kek', outcome: 'ok', detail: 'to gcp-kms/projects/my-project/locations/global/keyRings/TenantKeyRing/cryptoKeys/EmbeddingsKEK' },
        { operation: 'unwrap', outcome: 'ok', keyRef: 'dek/kJ3fz8qYbTgXu2nW0pL5sR7vA9c1/documents#3', tenant: 'kJ3fz8qYbTgXu2nW0pL5sR7vA9c1', collection: 'documents' },
        { operation: 'unwrap', outcome: 'ok', keyRef: 'dek/V1StGXR8_Z5jdHi6B-myT/Uakgb_J5m9g-0JDMbcJqL#1' },
        { operation: 'unwrap', outcome: 'failed', principal: '123e4567-e89b-12d3-a456-426614174000', detail: 'AUTHENTICATION_FAILED' },
        { operation: 'state-change', outcome: 'ok', collection: 'ProductEmbeddingsCollectionForSearch2024', tenant: '', detail: 'active -> decrypt-only' },
        { operation: 'seal', outcome: 'ok', collection: 'Évènements ✓ 日本語 🎉', records: 1_000_000 },
      ];
      for (const ev of ok) await expect(log.append(ev)).resolves.toMatchObject({ operation: ev.operation });
    });
  });

  describe('JSONL export', () => {
    it('round-trips: export, parse, verify; string and stream agree; slices verify with their anchor', async () => {
      const text = await exportJsonl(built.store);
      expect(text.endsWith('\n')).toBe(true);
      expect(text.split('\n').slice(0, -1)).toEqual(built.lines);
      const chunks: string[] = [];
      for await (const line of exportJsonlStream(built.store, { pageSize: 7 })) chunks.push(line);
      expect(chunks.join('')).toBe(text);
      expect(parseJsonl(text)).toEqual(built.lines.map(parseAuditLine));
      expect(parseJsonl(text.replace(/\n/g, '\r\n') + '\n\n')).toEqual(built.lines.map(parseAuditLine));
      expect((await verifyAuditLog(text, { publicKey: keys.publicKey })).ok).toBe(true);
      expect((await verifyAuditLog(built.lines, { publicKey: keys.publicKey })).ok).toBe(true);

      const slice = await exportJsonl(built.store, { from: 12, to: 30 });
      const sliceEntries = parseJsonl(slice);
      expect(sliceEntries.map((e) => e.seq)).toEqual(Array.from({ length: 19 }, (_, i) => i + 12));
      const after = { seq: 11, hash: parseAuditLine(built.lines[10]!).hash };
      const sliceReport = await verifyAuditLog(slice, { publicKey: keys.publicKey, after });
      expect(sliceReport).toMatchObject({ ok: true, entries: 19, lastSeq: 30 });
      expect(sliceReport.lastCheckpoint?.seq).toBe(21);
      expect((await verifyAuditLog(slice, { publicKey: keys.publicKey })).problems[0]).toMatchObject({ seq: 1, kind: 'deleted' });
    });

    it('names the bad line without quoting it, and refuses a bad range', async () => {
      expect(() => parseJsonl(`${built.lines[0]}\n{"secret":"${hex(new Uint8Array(32))}"}\n`)).toThrow(/JSONL line 2/);
      const err = (() => {
        try {
          parseJsonl('{"v":1,"hunter2":true}');
        } catch (e) {
          return e as Error;
        }
      })();
      expect(err).toBeInstanceOf(FormatError);
      expect(err!.message).not.toContain('hunter2');
      await expect(exportJsonl(built.store, { from: 0 })).rejects.toThrow(InvalidInputError);
      await expect(exportJsonl(built.store, { from: 5, to: 3 })).rejects.toThrow(InvalidInputError);
      expect(await exportJsonl(built.store, { from: 5, to: 4 })).toBe('');
      expect(await exportJsonl(built.store, { from: 100 })).toBe('');
    });
  });
});
