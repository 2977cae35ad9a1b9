/**
 * The steps of `npm start`, in order: self-check, embeddings, keys, seal into the database, what
 * the database holds, search after decryption, KEK rotation, crypto-shredding of a tenant, audit
 * verification, throughput. Each step prints what it did and checks what it claims; a failed
 * check ends the run with a non-zero status (scripts/start.ts prints the one-line reason).
 */
import { readFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { relative, resolve } from 'node:path';
import { readGloveFixture } from '../../demo/data/glove-node.js';
import { analogy, cosineNearest, type GloveFixture } from '../../demo/data/glove.js';
import { createClient, KeyDestroyedError, verifyShredReceipt, type ShredReceipt, type StoredDek, type VecsealClient } from '../../src/index.js';
import { FileKeyStore } from '../../src/node.js';
import type { StartOptions } from './cli.js';
import { openDataFolder, writeFileAtomic, type DataFolder } from './data-folder.js';
import { openRecordsTable, TABLE, type RecordsTable, type StoredRow } from './database.js';
import { check, StartError } from './fail.js';
import { openKekRing, type KekRing } from './kek.js';
import { MIN_WORD_LETTERS, scanForLeaks, unsealedRow } from '../../demo/data/leak-scan.js';
import { count, hex, line, megabytes, ok, seconds, section, since } from './out.js';
import { openSearchIndex, type SearchIndex } from './search.js';
import { selfCheck } from './self-check.js';
import { openSigner, type Signer } from './signer.js';
import { measureThroughput, type Rate } from './throughput.js';

export const COLLECTION = 'glove';
export const MODEL_ID = 'glove-6b-100d';
/** acme holds every word; globex a smaller slice (it is shredded, so its rows only need to exist). */
const TENANTS = [
  { tenant: 'acme', words: 10_000 },
  { tenant: 'globex', words: 2_000 },
] as const;
const SHREDDED_TENANT = 'globex';
const SAMPLE_WORDS = ['king', 'queen', 'man', 'woman', 'paris'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Closers run last-in first-out at the end of the run, whether it succeeded or not. */
class Resources {
  readonly #closers: (() => Promise<unknown>)[] = [];
  add(close: () => Promise<unknown>): void {
    this.#closers.push(close);
  }
  async closeAll(): Promise<void> {
    for (const close of this.#closers.reverse()) await close().catch(() => undefined);
  }
}

function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === '' ? '.' : rel.startsWith('..') ? path : rel;
}

function rateText(r: Rate): string {
  return `${count(Math.round(r.recordsPerSecond)).padStart(9)} records/s  ${r.megabytesPerSecond.toFixed(1).padStart(6)} MB/s`;
}

interface Opened {
  words: string[];
  vectors: Float32Array[];
  /** word -> row id */
  idOf: Map<string, string>;
}

export async function runStart(options: StartOptions): Promise<void> {
  const started = performance.now();
  const res = new Resources();
  try {
    const dir = resolve(options.data);
    const folder = await openDataFolder(dir, options.provider);
    res.add(() => folder.release());
    console.log(`vecseal npm start: run ${folder.run} on data folder ${shown(dir)} (${folder.run === 1 ? 'new: everything is created' : 'reusing its KEK, key store and table'}), provider ${options.provider}`);

    // initdb of the in-memory search database takes seconds: start it now, use it in step 5.
    const searchStarting = openSearchIndex(100);
    searchStarting.catch(() => undefined);
    res.add(async () => (await searchStarting).close());

    section('self-check of the WASM core');
    await selfCheck();

    section('1. embeddings');
    const { fixture, manifest } = await readGloveFixture();
    line(`GloVe 6B ${fixture.dimension}-d (${manifest.source.package}, PDDL): ${count(fixture.words.length)} words, SHA-256 checked against demo/data/${'glove-100d-10k.json'}`);

    section('2. keys');
    const keys = await openKeys(folder, options, res);
    let client = keys.client;

    section(`3. seal into ${options.pg ? 'PostgreSQL' : 'PGlite'}`);
    const table = await openRecordsTable({ connection: options.pg, pgliteDir: folder.path('pglite'), installId: folder.installId, collection: COLLECTION });
    res.add(() => table.close());
    line(`table ${TABLE} in ${table.where}`);
    await seal(client, table, fixture);

    section('4. what the database holds');
    const rows = await table.readAll();
    showRows(rows, fixture);

    section('5. search after decryption');
    const acmeRows = rows.filter((r) => r.tenant === 'acme');
    check(acmeRows.length > 0, 'the table holds acme rows');
    let t0 = performance.now();
    const opened = await openAll(client, acmeRows);
    const openMs = since(t0);
    t0 = performance.now();
    const search = await searchStarting;
    await search.load(opened.words, opened.vectors);
    line(`decrypted ${count(acmeRows.length)} acme rows in ${seconds(openMs)}; loaded into an in-memory PGlite with pgvector in ${seconds(since(t0))} (nothing on disk; exact cosine scan)`);
    await searchDemo(search, opened, fixture);

    section('6. KEK rotation');
    client = await rotate(client, keys, opened, acmeRows);

    section(`7. crypto-shredding of tenant '${SHREDDED_TENANT}'`);
    await shred(client, folder, keys.signer, rows, opened);

    section('8. audit log');
    await client.audit!.checkpoint();
    const audit = await client.verifyAudit({ publicKey: keys.signer.publicKey });
    check(audit.ok, `the audit log verifies (${audit.problems[0]?.kind ?? ''} at entry ${audit.problems[0]?.seq ?? '?'}: ${audit.problems[0]?.message ?? ''})`);
    check(audit.signaturesChecked && audit.lastCheckpoint !== undefined && audit.lastCheckpoint.seq === audit.lastSeq - 1, `the newest audit entry is a signed checkpoint over every entry before it (checkpoint covers ${audit.lastCheckpoint?.seq}, log ends at ${audit.lastSeq})`);
    ok(`verifyAudit: ${count(audit.entries)} entries (${count(audit.lastSeq - keys.auditSeqAtStart)} from this run), hash chain intact, signed checkpoint at entry ${count(audit.lastCheckpoint.seq)} verified with the ECDSA P-256 key ${keys.signer.fingerprint}`);
    await client.close();

    section('9. throughput (same run, this machine)');
    const tp = await measureThroughput(keys.ring.current.provider, opened.words, opened.vectors);
    line(`${count(tp.records)} GloVe records (100-d float32 + word, ${megabytes(tp.bytes)}), best of 3 rounds, ${tp.workers} worker(s):`);
    line(`vecseal encryptRecords    ${rateText(tp.seal)}   (per-batch HKDF subkeys, context-bound, key-committing)`);
    line(`WebCrypto loop, encrypt   ${rateText(tp.webCryptoSeal)}   (one key, random nonce per record, all in flight)`);
    line(`vecseal decryptRecords    ${rateText(tp.open)}`);
    line(`WebCrypto loop, decrypt   ${rateText(tp.webCryptoOpen)}`);
    line(`ratio vecseal / WebCrypto: seal ${(tp.seal.recordsPerSecond / tp.webCryptoSeal.recordsPerSecond).toFixed(2)}x, open ${(tp.open.recordsPerSecond / tp.webCryptoOpen.recordsPerSecond).toFixed(2)}x`);

    console.log(`\ndone in ${seconds(since(started))}: data kept in ${shown(dir)}; run again to reuse it (next KEK: kek-${keys.ring.current.version + 1}), delete the folder to start over`);
  } finally {
    await res.closeAll();
  }
}

interface Keys {
  store: FileKeyStore;
  ring: KekRing;
  signer: Signer;
  client: VecsealClient;
  auditSeqAtStart: number;
  res: Resources;
}

async function openKeys(folder: DataFolder, options: StartOptions, res: Resources): Promise<Keys> {
  const storePath = folder.path('keys');
  const store = await FileKeyStore.open({ path: storePath });
  res.add(() => store.close());
  const deks = await store.listDeks({});
  const live = deks.filter((d) => d.state !== 'destroyed');
  const ring = await openKekRing(folder, options.provider, options.pkcs11, live.map((d) => d.wrapped.kekId));
  res.add(() => ring.close());
  line(`KEK ${ring.current.name}: ${ring.created ? 'created' : 'reused'} (${ring.kind}) in ${ring.current.where.startsWith('/') ? shown(ring.current.where) : ring.current.where}`);
  for (const old of ring.previous) line(`KEK ${old.name}: still present (a rotation was interrupted); it unwraps the DEKs not yet re-wrapped`);
  const signer = await openSigner(folder);
  line(`audit signer: ECDSA P-256 ${signer.created ? 'created' : 'reused'} in ${shown(signer.path)} (public key SHA-256 ${signer.fingerprint}…): signs audit checkpoints and shred receipts`);
  const states = deks.map((d) => `${d.dekId}#${d.version} ${d.state}`);
  line(`key store: FileKeyStore in ${shown(storePath)} (wrapped DEKs only): ${deks.length === 0 ? 'empty' : states.join(', ')}`);
  const client = await createClient({ provider: ring.current.provider, previousProviders: ring.previous.map((k) => k.provider), store, audit: { signer: signer.signer } });
  const auditSeqAtStart = client.audit!.head.seq;
  const keys: Keys = { store, ring, signer, client, auditSeqAtStart, res };
  res.add(() => keys.client.close());
  line(`client: createClient({ provider, store, audit: { signer } }), ${client.info.workers} worker(s), backend ${client.info.backend}; audit log has ${count(auditSeqAtStart)} entries`);
  return keys;
}

function scopeOf(tenant: string): { collection: string; tenant: string; modelId: string } {
  return { collection: COLLECTION, tenant, modelId: MODEL_ID };
}

async function seal(client: VecsealClient, table: RecordsTable, fixture: GloveFixture): Promise<void> {
  for (const { tenant, words } of TENANTS) {
    const versions = await client.keys.versions({ collection: COLLECTION, tenant });
    const stored = await table.count(tenant);
    if (versions.at(-1)?.state === 'destroyed') {
      line(`${tenant}: shredded on an earlier run, so not sealed again: a destroyed DEK is never replaced, and its ${count(stored)} old rows stay unreadable`);
      const refused = await client
        .encryptRecords({ ...scopeOf(tenant), records: [{ id: randomUUID(), vector: fixture.row(0), text: fixture.words[0]! }] })
        .then(() => undefined, (err: unknown) => err);
      check(refused instanceof KeyDestroyedError, `sealing for shredded tenant ${tenant} fails with KeyDestroyedError (got ${refused === undefined ? 'success' : String(refused)})`);
      ok(`encryptRecords for ${tenant} is refused: KeyDestroyedError (no new DEK is made for a shredded tenant)`);
      continue;
    }
    if (stored === words) {
      line(`${tenant}: ${count(stored)} rows already stored: reused, not sealed again`);
      continue;
    }
    const records = fixture.words.slice(0, words).map((word, i) => ({ id: randomUUID(), vector: fixture.row(i), text: word }));
    let t0 = performance.now();
    const sealed = await client.encryptRecords({ ...scopeOf(tenant), records });
    const sealMs = since(t0);
    t0 = performance.now();
    await table.replace(tenant, sealed);
    const dek = (await client.keys.versions({ collection: COLLECTION, tenant })).at(-1)!;
    line(
      `${tenant}: sealed ${count(words)} words with their vectors in ${seconds(sealMs)} under DEK ${dek.dekId}#${dek.version} (${versions.length === 0 ? 'created now' : 'existing'}, wrapped by ${dek.wrapped.kekId}), stored in ${seconds(since(t0))}${stored > 0 ? ` (replacing ${count(stored)} rows of an incomplete earlier run)` : ''}`,
    );
  }
}

function showRows(rows: readonly StoredRow[], fixture: GloveFixture): void {
  const bytes = rows.reduce((n, r) => n + r.ciphertext.length, 0);
  line(`${count(rows.length)} rows, ${megabytes(bytes)} of ciphertext; a few of them as stored (id: a random UUID; ciphertext: format header, key version, salt, sealed vector + word, tag):`);
  line(`${'tenant'.padEnd(7)} ${'id'.padEnd(36)} ${'bytes'.padStart(5)}  ciphertext`);
  for (const tenant of TENANTS.map((t) => t.tenant)) {
    for (const r of rows.filter((x) => x.tenant === tenant).slice(0, 2)) line(`${r.tenant.padEnd(7)} ${r.id} ${String(r.ciphertext.length).padStart(5)}  ${hex(r.ciphertext, 24)}`);
  }
  const vectors = fixture.words.map((_, i) => fixture.row(i));
  const scan = scanForLeaks(rows.map((r) => r.ciphertext), fixture.words, vectors);
  check(scan.foundWords.length === 0, `no word appears in the stored ciphertext (found: ${scan.foundWords.slice(0, 5).join(', ')})`);
  check(scan.foundVectors === 0, `no plaintext vector appears in the stored ciphertext (found ${scan.foundVectors})`);
  check(rows.every((r) => UUID.test(r.id)), 'every row id is a random UUID');
  ok(`no word of ${MIN_WORD_LETTERS}+ letters (${count(scan.wordsChecked)} words) and none of the ${count(scan.vectorsChecked)} vectors appears in the ${megabytes(scan.bytes)} stored; every id is a random UUID`);
  // The same scan over rows an app without encryption would store: it must find what is there.
  const control = fixture.words.slice(0, 200).map((w, i) => unsealedRow(fixture.row(i), w));
  const controlScan = scanForLeaks(control, fixture.words, vectors);
  const expectWords = new Set(fixture.words.slice(0, 200).filter((w) => w.length >= MIN_WORD_LETTERS)).size;
  check(controlScan.foundVectors >= 200 && expectWords > 0 && fixture.words.slice(0, 200).filter((w) => w.length >= MIN_WORD_LETTERS).every((w) => controlScan.foundWords.includes(w)), 'the leak scan finds words and vectors in unsealed rows');
  line(`(control: the same scan finds all ${expectWords} such words and 200 of 200 vectors in 200 unsealed rows)`);
}

async function openAll(client: VecsealClient, rows: readonly StoredRow[]): Promise<Opened> {
  const tenant = rows[0]!.tenant;
  const opened = await client.decryptRecords({ ...scopeOf(tenant), dimension: 100, records: rows });
  const failed = opened.filter((o) => !o.ok);
  check(failed.length === 0, `every ${tenant} row opens (${failed.length} failed, first: ${failed[0] && !failed[0].ok ? failed[0].error.code : ''})`);
  const words: string[] = [];
  const vectors: Float32Array[] = [];
  const idOf = new Map<string, string>();
  for (const o of opened) {
    if (!o.ok || typeof o.text !== 'string') throw new StartError(`row ${o.id} opened without a word`);
    words.push(o.text);
    vectors.push(o.vector);
    idOf.set(o.text, o.id);
  }
  return { words, vectors, idOf };
}

async function searchDemo(search: SearchIndex, opened: Opened, fixture: GloveFixture): Promise<void> {
  const byWord = new Map(opened.words.map((w, i) => [w, opened.vectors[i]!]));
  const v = (w: string): Float32Array => {
    const found = byWord.get(w);
    if (!found) throw new StartError(`the decrypted rows hold no '${w}'`);
    return found;
  };
  const queries = [
    { label: 'king', query: v('king'), exclude: ['king'], expect: 'queen', within: 3 },
    { label: 'paris', query: v('paris'), exclude: ['paris'], expect: 'france', within: 1 },
    { label: 'king - man + woman', query: analogy(v('king'), v('man'), v('woman')), exclude: ['king', 'man', 'woman'], expect: 'queen', within: 1 },
    { label: 'paris - france + germany', query: analogy(v('paris'), v('france'), v('germany')), exclude: ['paris', 'france', 'germany'], expect: 'berlin', within: 1 },
    { label: 'tokyo - japan + france', query: analogy(v('tokyo'), v('japan'), v('france')), exclude: ['tokyo', 'japan', 'france'], expect: 'paris', within: 1 },
  ];
  const t0 = performance.now();
  for (const q of queries) {
    const hits = await search.nearest(q.query, 5, q.exclude);
    line(`${q.label.padEnd(25)} -> ${hits.map((h) => `${h.word} ${h.similarity.toFixed(3)}`).join(', ')}`);
    check(hits.slice(0, q.within).some((h) => h.word === q.expect), `${q.expect} is among the ${q.within} nearest of ${q.label}`);
    // The plaintext reference: a plain-JS cosine scan over the committed fixture, not over the database.
    const reference = cosineNearest(fixture.vectors, fixture.dimension, q.query, 1, new Set(q.exclude.map((w) => fixture.indexOf(w))));
    check(hits[0]!.word === fixture.words[reference[0]!.index], `pgvector and a plain-JS scan agree on the nearest word to ${q.label}`);
  }
  ok(`${queries.length} queries in ${seconds(since(t0))}; pgvector over the decrypted rows names the same nearest word as a plain-JS scan of the fixture for each; king - man + woman = queen`);
}

/** Opens the acme rows of SAMPLE_WORDS (found by the ids the search step learnt). */
async function openSample(client: VecsealClient, opened: Opened, acmeRows: readonly StoredRow[]): Promise<string[]> {
  const wanted = new Set(SAMPLE_WORDS.map((w) => opened.idOf.get(w)));
  const records = SAMPLE_WORDS.map((w) => acmeRows.find((r) => r.id === opened.idOf.get(w))).filter((r): r is StoredRow => r !== undefined && wanted.has(r.id));
  check(records.length === SAMPLE_WORDS.length, 'the sample rows are in the table');
  const back = await client.decryptRecords({ ...scopeOf('acme'), dimension: 100, records });
  return back.map((b) => (b.ok ? String(b.text) : `(${b.error.code})`));
}

async function rotate(client: VecsealClient, keys: Keys, opened: Opened, acmeRows: readonly StoredRow[]): Promise<VecsealClient> {
  const { ring, store } = keys;
  const before = new Map((await store.listDeks({})).map((d) => [`${d.dekId}#${d.version}`, d]));
  const next = await ring.next();
  line(`KEK ${next.name}: created (${ring.kind}) in ${next.where.startsWith('/') ? shown(next.where) : next.where}`);
  const result = await client.keys.rotateKek(next.provider);
  ring.commit(next);
  const after = await store.listDeks({});
  const name = (d: StoredDek): string => ring.nameOf(d.wrapped.kekId) ?? d.wrapped.kekId;
  for (const d of after) {
    const ref = `${d.dekId}#${d.version}`;
    const was = before.get(ref);
    if (d.state === 'destroyed') line(`${ref}: destroyed (shredded), nothing to re-wrap`);
    else line(`${ref}: ${was ? (ring.nameOf(was.wrapped.kekId) ?? was.wrapped.kekId) : '?'} -> ${name(d)}${was && was.wrapped.checksum !== d.wrapped.checksum ? ' (re-wrapped; its records untouched)' : ''}`);
  }
  check(after.filter((d) => d.state !== 'destroyed').every((d) => d.wrapped.kekId === next.provider.kekId), `every live DEK is wrapped by ${next.name}`);
  line(`rotateKek: ${result.rewrapped} DEK version(s) re-wrapped, ${result.skipped} already under ${next.name}`);

  // Proof that the old KEK is no longer needed: a new client (nothing cached) that holds only the new one.
  await client.close();
  const fresh = await createClient({ provider: next.provider, store, audit: { signer: keys.signer.signer } });
  keys.client = fresh;
  const sample = await openSample(fresh, opened, acmeRows);
  check(sample.join() === SAMPLE_WORDS.join(), `a client holding only ${next.name} opens acme's rows (got ${sample.join(', ')})`);
  ok(`a new client holding only ${next.name} opens acme's rows: ${sample.join(', ')} (${sample.length}/${SAMPLE_WORDS.length})`);
  for (const old of [...ring.previous]) line(`KEK ${old.name} retired: ${await ring.retire(old)}`);
  return fresh;
}

async function shred(client: VecsealClient, folder: DataFolder, signer: Signer, rows: readonly StoredRow[], opened: Opened): Promise<void> {
  const scope = { collection: COLLECTION, tenant: SHREDDED_TENANT };
  const receiptPath = folder.path('receipts', `${SHREDDED_TENANT}.json`);
  const versions = await client.keys.versions(scope);
  let receipt: ShredReceipt;
  if (versions.length > 0 && versions.every((v) => v.state === 'destroyed')) {
    let text: string;
    try {
      text = await readFile(receiptPath, 'utf8');
    } catch {
      throw new StartError(`${SHREDDED_TENANT} is shredded but its receipt ${receiptPath} is missing`);
    }
    receipt = JSON.parse(text) as ShredReceipt;
    line(`${SHREDDED_TENANT} was shredded on an earlier run (${receipt.at}); its receipt, kept in ${shown(receiptPath)}, is checked again`);
  } else {
    receipt = await client.keys.destroy(scope);
    await writeFileAtomic(receiptPath, `${JSON.stringify(receipt, null, 2)}\n`);
    line(`client.keys.destroy({ collection: '${COLLECTION}', tenant: '${SHREDDED_TENANT}' }) -> receipt saved in ${shown(receiptPath)}`);
  }
  const destroyed = receipt.destroyed.map((d) => `${d.dekId}#${d.version} (wrapped by ${d.kekId})`).join(', ');
  line(`receipt: ${receipt.destroyed.length} DEK version(s) destroyed: ${destroyed}; store re-read afterwards: ${receipt.verified ? 'no wrapped bytes left' : 'NOT verified'}; audit entry ${receipt.auditSeq}; digest ${receipt.digest.slice(0, 16)}…; ${receipt.signature ? 'signed (ECDSA P-256)' : 'unsigned'}`);
  check(receipt.verified && receipt.destroyed.length > 0, 'the receipt says every DEK version was erased');
  const verification = await verifyShredReceipt(JSON.parse(JSON.stringify(receipt)) as ShredReceipt, signer.publicKey);
  check(verification.ok && verification.digestOk && verification.signatureOk === true, 'verifyShredReceipt accepts the receipt');
  const forged = { ...receipt, destroyed: receipt.destroyed.slice(1) } as ShredReceipt;
  const forgedCheck = await verifyShredReceipt(forged, signer.publicKey);
  check(!forgedCheck.ok, 'verifyShredReceipt rejects a receipt with a DEK left out');
  ok(`verifyShredReceipt: digest ok, signature ok under ${signer.fingerprint}; the same receipt with a DEK left out fails`);

  const globexRows = rows.filter((r) => r.tenant === SHREDDED_TENANT);
  if (globexRows.length === 0) line(`this database holds no ${SHREDDED_TENANT} rows (they were sealed into another one)`);
  else {
    const results = await client.decryptRecords({ ...scopeOf(SHREDDED_TENANT), dimension: 100, records: globexRows });
    const refused = results.filter((r) => !r.ok && r.error instanceof KeyDestroyedError).length;
    check(refused === globexRows.length, `every ${SHREDDED_TENANT} row fails with KeyDestroyedError (${refused} of ${globexRows.length})`);
  }
  const sample = await openSample(client, opened, rows.filter((r) => r.tenant === 'acme'));
  check(sample.join() === SAMPLE_WORDS.join(), 'acme rows still open after the shred');
  ok(`${count(globexRows.length)} ${SHREDDED_TENANT} rows fail with KeyDestroyedError; acme rows still open (${sample.join(', ')})`);
}
