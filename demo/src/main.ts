/**
 * The vecseal demo page: embeddings in, sealed in workers, stored as ciphertext in IndexedDB or
 * PGlite, searched after decryption, with the key lifecycle and the audit log one click away.
 * Every number on the page is measured in this browser, in this run.
 */
import { openDB } from 'idb';
import { parseAuditLine, verifyShredReceipt, type AuditEntry, type StoredAuditLine, type VecsealError } from '../../src/index.js';
import { unsealedRow, MIN_WORD_LETTERS, scanForLeaks } from '../data/leak-scan.js';
import { sealWithWebCryptoLoop } from './baseline.js';
import { drawThroughput, type Series } from './chart.js';
import { $, count, fillTable, hex, say } from './dom.js';
import { loadBundledGlove, parseUserEmbeddings, type Embeddings } from './embeddings.js';
import { deleteRowStores, openRowStore, type RowStore, type RowStoreKind } from './rows.js';
import { nearest, openedSet, parseQuery } from './search.js';
import { CHECKPOINT_EVERY, COLLECTION, deleteKeys, KEK_DATABASE, KEY_DATABASE, openSession, rotateKek, type Session } from './session.js';

const STORE_CHOICE = 'vecseal-demo:store';
/** Per tenant: what its rows hold (dimension, model), needed to open them after a reload. */
const PROFILE = 'vecseal-demo:profile:';
/** The original text of the audit line the Tamper button changed, for Undo. */
const TAMPERED = 'vecseal-demo:tampered';
/** Per tenant: the id of a re-encryption job that has not finished. */
const REENCRYPT_JOB = 'vecseal-demo:reencrypt-job:';
const PEEK_ROWS = 6;
const AUDIT_ROWS = 12;
const NEIGHBOURS = 8;

interface Profile {
  dimension: number;
  modelId: string;
}

let session: Session;
let rows: RowStore;
let embeddings: Embeddings | undefined;
/** Seals since the page loaded: the first one also starts the workers. */
let sealsThisPage = 0;

const tenant = (): string => $<HTMLSelectElement>('tenant').value;
const scope = (): { collection: string; tenant: string } => ({ collection: COLLECTION, tenant: tenant() });

function profileOf(t: string): Profile | undefined {
  const text = localStorage.getItem(PROFILE + t);
  return text ? (JSON.parse(text) as Profile) : undefined;
}

function errorText(err: unknown): string {
  if (err instanceof Error) return `${err.name}${(err as VecsealError).code ? ` (${(err as VecsealError).code})` : ''}: ${err.message}`;
  return String(err);
}

function status(text: string, error = false): void {
  const el = $('status');
  el.textContent = text;
  el.classList.toggle('error', error);
}

/** Runs one user action: buttons off while it runs, its error on the status line, the panels refreshed after. */
async function act(label: string, action: () => Promise<string | void>): Promise<void> {
  document.body.dataset.busy = '1';
  for (const b of document.querySelectorAll('button')) b.disabled = true;
  status(`${label}…`);
  try {
    const done = await action();
    status(done ?? `${label}: done`);
  } catch (err) {
    status(`${label} failed: ${errorText(err)}`, true);
  } finally {
    await refresh().catch((err: unknown) => status(`refresh failed: ${errorText(err)}`, true));
    document.body.dataset.busy = '0';
  }
}

// ---------------------------------------------------------------- 1. embeddings

function useEmbeddings(e: Embeddings): string {
  embeddings = e;
  say('embeddings-info', `${e.source}: ${count(e.texts.length)} embeddings of ${e.dimension} dimensions (${(e.vectors.byteLength / 1e6).toFixed(1)} MB), e.g. ${e.texts.slice(0, 6).join(', ')}`, 'ok');
  return `loaded ${count(e.texts.length)} embeddings`;
}

// ---------------------------------------------------------------- 2. seal and store

async function sealAndStore(): Promise<string> {
  const e = embeddings;
  if (!e) throw new Error('load embeddings first');
  const t = tenant();
  const d = e.dimension;
  const modelId = e.modelId;
  const before = profileOf(t);
  if (before && (before.dimension !== d || before.modelId !== modelId)) {
    throw new Error(`tenant ${t} already holds ${before.dimension}-d ${before.modelId} rows; use the other tenant or Reset`);
  }
  const ids = e.texts.map((_, i) => `${t}-${String(i).padStart(6, '0')}`);
  const records = e.texts.map((text, i) => ({ id: ids[i]!, vector: e.vectors.subarray(i * d, (i + 1) * d), text }));
  const series: Series[] = [
    { label: 'vecseal', color: '#1f6feb', points: [] },
    { label: 'WebCrypto, one awaited call per record', color: '#bc4c00', points: [] },
  ];
  const chart = $<HTMLCanvasElement>('chart');
  const sealBar = $<HTMLProgressElement>('seal-progress');
  const baseBar = $<HTMLProgressElement>('baseline-progress');
  sealBar.value = baseBar.value = 0;
  say('seal-rate', '–');
  say('baseline-rate', '–');
  say('ratio', '');

  const cold: string[] = [];
  if (sealsThisPage++ === 0) cold.push('started the workers');
  if ((await session.client.keys.versions(scope())).length === 0) cold.push(`created and wrapped ${t}'s DEK`);
  const t0 = performance.now();
  const sealed = await session.client.encryptRecords(
    { ...scope(), modelId, records },
    {
      onProgress: (done, total) => {
        const s = (performance.now() - t0) / 1000;
        sealBar.value = done / total;
        if (s > 0) {
          series[0]!.points.push([done, done / s]);
          say('seal-rate', `${count(done / s)} rec/s`);
          drawThroughput(chart, series);
        }
      },
    },
  );
  const sealMs = performance.now() - t0;
  sealBar.value = 1;
  say('seal-rate', `${count(records.length / (sealMs / 1000))} rec/s`);

  const t1 = performance.now();
  await rows.putAll(sealed.map((r) => ({ id: r.id, tenant: t, ciphertext: r.ciphertext })));
  const storeMs = performance.now() - t1;
  localStorage.setItem(PROFILE + t, JSON.stringify({ dimension: d, modelId } satisfies Profile));
  await leakCheck(t, records);

  // The baseline, on the same records, after vecseal so the two do not compete for the cores.
  const payloads = records.map((r) => unsealedRow(r.vector, r.text));
  const baseMs = await sealWithWebCryptoLoop(ids, payloads, (p) => {
    baseBar.value = p.done / p.total;
    if (p.elapsedMs > 0) {
      series[1]!.points.push([p.done, p.done / (p.elapsedMs / 1000)]);
      say('baseline-rate', `${count(p.done / (p.elapsedMs / 1000))} rec/s`);
      drawThroughput(chart, series);
    }
  });
  for (const p of payloads) p.fill(0);
  const ratio = baseMs / sealMs;
  say(
    'ratio',
    `${count(records.length)} records: vecseal ${sealMs.toFixed(0)} ms (${count(records.length / (sealMs / 1000))} records/s, with per-batch HKDF keys, context binding and key commitment), WebCrypto loop ${baseMs.toFixed(0)} ms (${count(records.length / (baseMs / 1000))} records/s): vecseal ${ratio.toFixed(1)}x${cold.length > 0 ? ` (this call also ${cold.join(' and ')}: seal again for a warm figure)` : ''}. Stored in ${storeMs.toFixed(0)} ms.`,
    'ok',
  );
  return `sealed ${count(sealed.length)} records for ${t} and stored them in ${rows.kind === 'pglite' ? 'PGlite' : 'IndexedDB'}`;
}

/**
 * Reads the tenant's rows back from the database and scans all of their bytes for any of the words
 * (of MIN_WORD_LETTERS or more letters: shorter strings turn up in random bytes by chance) and for
 * the bytes of any vector; then the same scan over rows stored without encryption, which it must flag.
 */
async function leakCheck(t: string, records: readonly { id: string; vector: Float32Array; text: string }[]): Promise<void> {
  const stored = await rows.byTenant(t);
  const ids = new Set(stored.map((r) => r.id));
  const missing = records.filter((r) => !ids.has(r.id)).length;
  if (missing > 0) throw new Error(`${missing} rows are missing from the database after the write`);
  const texts = records.map((r) => r.text);
  const vectors = records.map((r) => r.vector);
  const scan = scanForLeaks(stored.map((r) => r.ciphertext), texts, vectors);
  const control = records.slice(0, 200).map((r) => unsealedRow(r.vector, r.text));
  const controlScan = scanForLeaks(control, texts, vectors);
  const clean = scan.foundWords.length === 0 && scan.foundVectors === 0;
  say(
    'leak-check',
    `leak check: read back ${count(stored.length)} rows (${(scan.bytes / 1e6).toFixed(1)} MB); ${clean ? 'none' : `${scan.foundWords.length + scan.foundVectors}`} of ${count(scan.wordsChecked)} words of ${MIN_WORD_LETTERS}+ letters and ${count(scan.vectorsChecked)} vectors found in them` +
      ` (control: ${controlScan.foundWords.length} words and ${controlScan.foundVectors} vectors found in ${control.length} unencrypted rows)`,
    clean ? 'ok' : 'bad',
  );
  for (const c of control) c.fill(0);
}

// ---------------------------------------------------------------- 4. search

async function search(): Promise<string> {
  const t = tenant();
  const profile = profileOf(t);
  const stored = await rows.byTenant(t);
  if (stored.length === 0 || !profile) throw new Error(`tenant ${t} has no rows in ${rows.kind === 'pglite' ? 'PGlite' : 'IndexedDB'}: seal some first`);
  const terms = parseQuery($<HTMLInputElement>('query').value);
  const t0 = performance.now();
  const out = await session.client.decryptRecords({ ...scope(), dimension: profile.dimension, modelId: profile.modelId, records: stored });
  const openMs = performance.now() - t0;
  const failed = new Map<string, number>();
  const opened: { text: string; vector: Float32Array }[] = [];
  for (const r of out) {
    if (r.ok) opened.push({ text: r.text ?? r.id, vector: r.vector });
    else failed.set(r.error.name, (failed.get(r.error.name) ?? 0) + 1);
  }
  const failures = [...failed].map(([name, n]) => `${count(n)} fail with ${name}`).join(', ');
  if (opened.length === 0) {
    $('search-results').replaceChildren();
    say('search-info', `none of the ${count(stored.length)} rows opens: ${failures}`, 'bad');
    return `search: no record of ${t} opens`;
  }
  const set = openedSet(opened, profile.dimension);
  for (const o of opened) o.vector.fill(0);
  const hits = nearest(set, terms, NEIGHBOURS);
  set.matrix.fill(0);
  $('search-results').replaceChildren(
    ...hits.map((h) => {
      const li = document.createElement('li');
      li.textContent = `${h.text}  ${h.similarity.toFixed(3)}`;
      li.dataset.text = h.text;
      return li;
    }),
  );
  say('search-info', `decrypted ${count(opened.length)} of ${count(stored.length)} rows in ${openMs.toFixed(0)} ms${failures ? ` (${failures})` : ''}; exact cosine scan`, failures ? 'bad' : 'ok');
  return `search: ${hits[0]!.text}`;
}

// ---------------------------------------------------------------- 5. keys

/** Moves every row of the tenant to the newest DEK version, page by page, with progress and a resumable checkpoint. */
async function reencryptRows(): Promise<string> {
  const t = tenant();
  const profile = profileOf(t);
  if (!profile) throw new Error(`tenant ${t} has no rows to re-encrypt`);
  // The job id stays in localStorage until the job ends: a page closed mid-job resumes from its checkpoint on the next click.
  const jobKey = `${REENCRYPT_JOB}${t}`;
  const jobId = localStorage.getItem(jobKey) ?? `demo-${t}-${Date.now().toString(36)}`;
  localStorage.setItem(jobKey, jobId);
  const result = await session.client.reencrypt({
    ...scope(),
    modelId: profile.modelId,
    dimension: profile.dimension,
    jobId,
    batchSize: 2000,
    read: async (after, limit) => {
      const page = await rows.page(t, after, limit);
      return { records: page, next: page.length === limit ? page[page.length - 1]!.id : undefined };
    },
    write: (sealed) => rows.putAll(sealed.map((r) => ({ id: r.id, tenant: t, ciphertext: r.ciphertext }))),
    onProgress: (p) => status(`re-encrypting: ${count(p.read)} read, ${count(p.rewritten)} moved`),
  });
  localStorage.removeItem(jobKey);
  say(
    'key-message',
    `re-encryption to DEK version ${result.toVersion}${result.resumed ? ' (resumed an interrupted job)' : ''}: ${count(result.rewritten)} rows moved, ${count(result.current)} already there, ${count(result.failed)} did not open${result.failed > 0 ? ` (${result.failures.map((f) => f.code).slice(0, 3).join(', ')})` : ''}`,
    result.failed > 0 ? 'bad' : 'ok',
  );
  return `re-encrypted ${t}'s rows to DEK version ${result.toVersion}`;
}

async function destroyTenant(): Promise<string> {
  const receipt = await session.client.keys.destroy(scope());
  const check = await verifyShredReceipt(receipt, session.publicKey);
  const pre = $('receipt');
  pre.hidden = false;
  pre.textContent = JSON.stringify(receipt, null, 2);
  say('key-message', `tenant ${tenant()} shredded: ${receipt.destroyed.length} DEK version(s) erased from the store, the caches and the workers; receipt ${check.ok ? 'verified' : 'NOT verified'} (digest ${check.digestOk ? 'ok' : 'bad'}, signature ${check.signatureOk ? 'ok' : String(check.signatureOk)})`, check.ok ? 'ok' : 'bad');
  return `destroyed the DEKs of ${tenant()}`;
}

// ---------------------------------------------------------------- 6. audit

function tampered(): StoredAuditLine | undefined {
  const text = localStorage.getItem(TAMPERED);
  return text ? (JSON.parse(text) as StoredAuditLine) : undefined;
}

/** The demo's key store database, opened beside the SDK's own connection (IndexedDbKeyStore: object store 'audit', keyed by seq). */
function openKeyDatabase(): ReturnType<typeof openDB> {
  return openDB(KEY_DATABASE);
}

/** Changes one stored entry behind the SDK's back, as someone with write access to the database could. */
async function tamper(): Promise<string> {
  const head = session.client.audit!.head.seq;
  const seq = Math.max(1, Math.floor(head / 2));
  const db = await openKeyDatabase();
  try {
    const stored = (await db.get('audit', seq)) as StoredAuditLine | undefined;
    if (!stored) throw new Error(`no audit entry ${seq}`);
    const entry = JSON.parse(stored.line) as AuditEntry;
    const changed = { ...entry, outcome: entry.outcome === 'ok' ? 'denied' : 'ok' };
    localStorage.setItem(TAMPERED, JSON.stringify(stored));
    await db.put('audit', { seq, line: JSON.stringify(changed) });
    say('verify-result', `entry ${seq} now says outcome "${changed.outcome}" (was "${entry.outcome}"); press Verify`, 'bad');
  } finally {
    db.close();
  }
  return `tampered with audit entry ${seq}`;
}

async function untamper(): Promise<string> {
  const t = tampered();
  if (!t) return 'nothing to undo';
  const db = await openKeyDatabase();
  try {
    await db.put('audit', t);
  } finally {
    db.close();
  }
  localStorage.removeItem(TAMPERED);
  say('verify-result', `entry ${t.seq} restored; press Verify`);
  return `restored audit entry ${t.seq}`;
}

async function verify(): Promise<string> {
  await session.client.audit!.checkpoint();
  const v = await session.client.verifyAudit({ publicKey: session.publicKey });
  if (v.ok) {
    say('verify-result', `OK: ${count(v.entries)} entries, hash chain intact, newest signed checkpoint at entry ${v.lastCheckpoint?.seq ?? '?'} verified (ECDSA P-256)`, 'ok');
    return 'audit log verified';
  }
  const p = v.problems[0]!;
  say('verify-result', `FAILED: ${v.problems.length} problem(s); first: entry ${p.seq} ${p.kind}: ${p.message}`, 'bad');
  return `audit log: verification found ${v.problems.length} problem(s)`;
}

// ---------------------------------------------------------------- panels

async function refresh(): Promise<void> {
  const t = tenant();
  const counts = await rows.counts();
  say('stored-where', rows.where);
  say('stored-counts', counts.size === 0 ? 'no rows yet' : [...counts].map(([k, n]) => `${k}: ${count(n)} rows`).join(', '));
  const peek = await rows.peek(t, PEEK_ROWS);
  fillTable('stored-rows', peek.map((r) => [r.id, r.tenant, count(r.bytes), { text: hex(r.head), cls: 'hex' }]));

  const versions = await session.client.keys.versions(scope());
  fillTable(
    'dek-versions',
    versions.map((v) => [String(v.version), { text: v.state, cls: `state-${v.state}` }, count(v.sealedRecords ?? 0), v.state === 'destroyed' ? '(erased)' : v.wrapped.kekId, v.createdAt.replace('T', ' ').slice(0, 19)]),
  );
  const kek = await session.provider.describe();
  say('kek-info', `KEK ${kek.kekId}: WebCrypto ${kek.algorithm}, ${kek.details?.extractable ? 'extractable' : 'non-extractable'}, kept in IndexedDB "${KEK_DATABASE}" (survives a reload), ${kek.state}. One DEK per collection and tenant, stored wrapped in "${KEY_DATABASE}".`);

  const head = session.client.audit!.head.seq;
  const lines = head === 0 ? [] : await session.store.readAudit(Math.max(1, head - AUDIT_ROWS + 1), AUDIT_ROWS);
  const bad = tampered()?.seq;
  const shown = lines
    .map((l) => {
      try {
        return { seq: l.seq, e: parseAuditLine(l.line) };
      } catch {
        return { seq: l.seq, e: undefined };
      }
    })
    .reverse();
  fillTable(
    'audit-entries',
    shown.map(({ e, seq }) => (e ? [String(seq), e.time.slice(11, 23), e.operation, e.outcome, e.tenant ?? '', e.records === undefined ? '' : count(e.records), { text: e.hash.slice(0, 16), cls: 'hash' }] : [String(seq), '(unreadable)', '', '', '', '', ''])),
    (i) => (shown[i]!.seq === bad ? 'tampered' : undefined),
  );
  say('audit-count', `${count(head)} entries, hash-chained (SHA-256), a checkpoint signed every ${CHECKPOINT_EVERY} entries; newest first`);

  const hasRows = (counts.get(t) ?? 0) > 0;
  const enable = (id: string, on: boolean): void => {
    $<HTMLButtonElement>(id).disabled = !on;
  };
  enable('load-bundled', true);
  enable('use-pasted', true);
  enable('reset', true);
  enable('seal', embeddings !== undefined);
  enable('search', hasRows);
  const live = versions.some((v) => v.state !== 'destroyed');
  for (const id of ['rotate-dek', 'suspend', 'resume', 'destroy']) enable(id, live);
  enable('reencrypt', hasRows && live && versions.length > 1);
  enable('rotate-kek', true);
  enable('verify', true);
  enable('tamper', bad === undefined && head > 2);
  enable('untamper', bad !== undefined);
  const workers = session.client.info.workers;
  $('worker-count').textContent = workers === 0 ? 'on the page thread' : `${workers} worker${workers === 1 ? '' : 's'}`;
}

async function reset(): Promise<void> {
  document.body.dataset.busy = '1';
  status('deleting the demo databases…');
  await rows?.close().catch(() => undefined);
  await deleteKeys(session);
  await deleteRowStores();
  for (const key of Object.keys(localStorage)) if (key.startsWith('vecseal-demo:')) localStorage.removeItem(key);
  location.reload();
}

async function start(): Promise<void> {
  const choice = (localStorage.getItem(STORE_CHOICE) ?? 'indexeddb') as RowStoreKind;
  $<HTMLSelectElement>('store').value = choice;
  session = await openSession();
  rows = await openRowStore(choice);

  $('load-bundled').addEventListener('click', () => void act('loading GloVe', async () => useEmbeddings(await loadBundledGlove())));
  $('use-pasted').addEventListener('click', () => void act('reading pasted embeddings', async () => useEmbeddings(parseUserEmbeddings($<HTMLTextAreaElement>('paste').value))));
  $<HTMLInputElement>('upload').addEventListener('change', (ev) => {
    const file = (ev.target as HTMLInputElement).files?.[0];
    if (file) void act(`reading ${file.name}`, async () => useEmbeddings(parseUserEmbeddings(await file.text(), file.name)));
  });
  $('seal').addEventListener('click', () => void act('sealing', sealAndStore));
  $('store').addEventListener('change', () =>
    void act('switching the store', async () => {
      const kind = $<HTMLSelectElement>('store').value as RowStoreKind;
      await rows.close();
      rows = await openRowStore(kind);
      localStorage.setItem(STORE_CHOICE, kind);
      return `rows now go to ${rows.where}`;
    }),
  );
  $('tenant').addEventListener('change', () =>
    void act('switching tenant', async () => {
      // What the panels said was about the other tenant.
      for (const id of ['key-message', 'search-info', 'ratio']) say(id, '');
      $('search-results').replaceChildren();
      $('receipt').hidden = true;
      return `tenant ${tenant()}`;
    }),
  );
  $('search').addEventListener('click', () => void act('searching', search));
  $('query').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !$<HTMLButtonElement>('search').disabled) void act('searching', search);
  });
  $('rotate-dek').addEventListener('click', () =>
    void act('rotating the DEK', async () => {
      const v = await session.client.keys.rotateDek(scope());
      say('key-message', `DEK version ${v.version} of ${tenant()} is active; older versions are decrypt-only: their records still open, new records use version ${v.version}`, 'ok');
      return `DEK version ${v.version} active`;
    }),
  );
  $('rotate-kek').addEventListener('click', () =>
    void act('rotating the KEK', async () => {
      const r = await rotateKek(session);
      session = r.session;
      say('key-message', `new KEK ${session.provider.kekId}: ${r.rewrapped} DEK version(s) re-wrapped without touching a record; ${r.retired} destroyed`, 'ok');
      return `KEK ${session.provider.kekId} active`;
    }),
  );
  $('reencrypt').addEventListener('click', () => void act('re-encrypting', reencryptRows));
  $('suspend').addEventListener('click', () =>
    void act('suspending', async () => {
      await session.client.keys.suspend(scope());
      say('key-message', `${tenant()} suspended: nothing seals or opens until Resume (here, in every worker and in other tabs)`, 'bad');
    }),
  );
  $('resume').addEventListener('click', () =>
    void act('resuming', async () => {
      await session.client.keys.resume(scope());
      say('key-message', `${tenant()} resumed`, 'ok');
    }),
  );
  $('destroy').addEventListener('click', () => void act('crypto-shredding', destroyTenant));
  $('verify').addEventListener('click', () => void act('verifying the audit log', verify));
  $('tamper').addEventListener('click', () => void act('tampering', tamper));
  $('untamper').addEventListener('click', () => void act('undoing the tamper', untamper));
  $('reset').addEventListener('click', () => void reset().catch((err: unknown) => status(`reset failed: ${errorText(err)}`, true)));

  await refresh();
  const counts = await rows.counts();
  status(`ready: KEK ${session.provider.kekId} opened from IndexedDB; ${counts.size === 0 ? 'no rows yet: load embeddings, then Seal' : `${[...counts.values()].reduce((a, b) => a + b, 0).toLocaleString('en')} sealed rows stored`}`);
  document.body.dataset.ready = '1';
}

start().catch((err: unknown) => {
  status(`the demo could not start: ${errorText(err)}`, true);
  document.body.dataset.ready = 'error';
});
