/**
 * `npm start`, until the demo issue makes it the full end-to-end job on embedded Postgres: a short
 * self-check of the core in this Node process (AES-256-GCM round trip, tampering and a wrong context
 * rejected, agreement with node:crypto, batch forms agreeing with one-shot ones, HKDF per RFC 5869),
 * then the public API at work: a WebCrypto KEK, 20,000 embeddings of 768 dimensions with their text
 * and metadata sealed in workers, opened again, a tampered and a moved record rejected on their own,
 * and the throughput next to the WebCrypto loop a user would write, in the same run. Writes nothing.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { loadCore, type Core } from '../src/core/index.js';
import { createClient, WebCryptoKeyProvider } from '../src/index.js';

function ok(line: string): void {
  console.log(`OK  ${line}`);
}

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`self-check failed: ${what}`);
  ok(what);
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function rejects(fn: () => unknown, code: string): boolean {
  try {
    fn();
    return false;
  } catch (err) {
    return (err as { code?: unknown }).code === code;
  }
}

function selfCheck(core: Core): void {
  const key = randomBytes(32);
  const iv = randomBytes(12);
  const aad = new TextEncoder().encode('tenant=acme;collection=docs;record=42');
  const embedding = randomBytes(3072); // a 768-d float32 embedding's size
  const sealed = core.aesGcmEncrypt(key, iv, embedding, aad);
  check(sealed.length === embedding.length + 16 && same(core.aesGcmDecrypt(key, iv, sealed, aad), embedding), 'AES-256-GCM round trip of a 3072-byte record with AAD');

  const tampered = sealed.slice();
  tampered[100]! ^= 0x01;
  check(rejects(() => core.aesGcmDecrypt(key, iv, tampered, aad), 'AUTHENTICATION_FAILED'), 'a flipped ciphertext bit is rejected (AuthenticationError)');
  const otherContext = new TextEncoder().encode('tenant=acme;collection=docs;record=43');
  check(rejects(() => core.aesGcmDecrypt(key, iv, sealed, otherContext), 'AUTHENTICATION_FAILED'), 'the record under another context (AAD) is rejected');

  const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(aad);
  const expected = Buffer.concat([cipher.update(embedding), cipher.final(), cipher.getAuthTag()]);
  const decipher = createDecipheriv('aes-256-gcm', key, iv).setAAD(aad).setAuthTag(sealed.subarray(embedding.length));
  const opened = Buffer.concat([decipher.update(sealed.subarray(0, embedding.length)), decipher.final()]);
  check(same(sealed, expected) && same(opened, embedding), 'vecseal and node:crypto agree byte for byte, both ways');

  const records = Array.from({ length: 33 }, (_, i) => randomBytes(i * 37));
  const ivs = randomBytes(records.length * 12);
  const batch = core.sealBatch({ key, ivs, plaintexts: records, aad });
  const allMatch = records.every((r, i) =>
    same(batch.bytes.subarray(batch.offsets[i]!, batch.offsets[i + 1]!), core.aesGcmEncrypt(key, ivs.subarray(i * 12, i * 12 + 12), r, aad)),
  );
  const back = core.openBatch({ key, ivs, ciphertexts: batch, aad });
  check(allMatch && back.rejected === 0 && same(back.plaintexts.bytes, Buffer.concat(records)), 'sealBatch/openBatch of 33 records (0..1184 bytes) match the one-shot calls');

  const ikm = randomBytes(32);
  const salt = randomBytes(32);
  const infos = Array.from({ length: 16 }, (_, i) => new TextEncoder().encode(`vecseal/record/${i}`));
  const prk = core.hkdfExtract(ikm, salt);
  const derived = core.hkdfExpandBatch(prk, infos, 32);
  const hkdfMatch = infos.every((info, i) => same(derived.subarray(i * 32, i * 32 + 32), new Uint8Array(hkdfSync('sha256', ikm, salt, info, 32))));
  check(hkdfMatch, 'hkdfExpandBatch of 16 infos equals node:crypto hkdfSync (RFC 5869)');
}

const COUNT = 20_000;
const DIM = 768;

/** The loop a user would write with WebCrypto: one key, a random nonce per record, all in flight. */
async function webCryptoLoop(vectors: Float32Array[]): Promise<number> {
  const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt']);
  const t0 = performance.now();
  await Promise.all(vectors.map((v) => crypto.subtle.encrypt({ name: "AES-GCM", iv: crypto.getRandomValues(new Uint8Array(12)) }, key, v as Float32Array<ArrayBuffer>)));
  return performance.now() - t0;
}

async function apiDemo(): Promise<void> {
  const client = await createClient({ provider: await WebCryptoKeyProvider.generate() });
  const { workers, backend } = client.info;
  console.log(`\nclient: WebCrypto KEK (non-extractable AES-256-GCM), in-memory key store, ${workers} worker(s), backend ${backend}`);
  const vectors = Array.from({ length: COUNT }, (_, i) => Float32Array.from({ length: DIM }, (_, j) => Math.sin(i * 31 + j)));
  const records = vectors.map((vector, i) => ({ id: `doc-${i}`, vector, text: `chunk ${i} of the handbook`, metadata: { page: i >> 4 } }));
  const scope = { collection: 'handbook', tenant: 'acme', modelId: 'demo-768' };
  await client.encryptVectors({ ...scope, ids: ['warm-up'], vectors: [vectors[0]!] });

  const t0 = performance.now();
  const sealed = await client.encryptRecords({ ...scope, records });
  const sealMs = performance.now() - t0;
  const t1 = performance.now();
  const opened = await client.decryptRecords({ ...scope, dimension: DIM, records: sealed });
  const openMs = performance.now() - t1;
  const intact = opened.every((o, i) => o.ok && o.text === records[i]!.text && o.vector.every((x, j) => x === vectors[i]![j]));
  check(intact && opened.length === COUNT, `${COUNT.toLocaleString('en')} records (768-d float32 + text + metadata) sealed and opened intact`);
  const overhead = sealed[0]!.ciphertext.length - (DIM * 4 + 4 + records[0]!.text.length + JSON.stringify(records[0]!.metadata).length);
  check(overhead === 62, 'each record carries 62 bytes of format overhead (header, salt, index, key commitment, tag)');

  const tampered = sealed[1]!.ciphertext.slice();
  tampered[200]! ^= 1;
  const mixed = [sealed[0]!, { id: 'doc-1', ciphertext: tampered }, { id: 'doc-2', ciphertext: sealed[3]!.ciphertext }, sealed[4]!];
  const verdicts = (await client.decryptRecords({ ...scope, dimension: DIM, records: mixed })).map((o) => (o.ok ? 'ok' : o.error.code));
  check(verdicts.join() === 'ok,AUTHENTICATION_FAILED,AUTHENTICATION_FAILED,ok', `a tampered record and a record moved to another row fail on their own: ${verdicts.join(', ')}`);
  const otherTenant = await client.decryptVectors({ ...scope, tenant: 'globex', dimension: DIM, records: sealed.slice(0, 1) });
  check(!otherTenant[0]!.ok, `acme's record does not open as tenant globex (${otherTenant[0]!.ok ? '' : otherTenant[0]!.error.code})`);

  const loopMs = await webCryptoLoop(vectors);
  const rate = (ms: number) => `${Math.round(COUNT / (ms / 1000)).toLocaleString('en')} records/s (${Math.round((COUNT * DIM * 4) / 1e6 / (ms / 1000))} MB/s)`;
  console.log(`\nthroughput, ${COUNT.toLocaleString('en')} x 768-d float32 on this machine (one run; bench/RESULTS.md has the full benchmark):`);
  console.log(`  vecseal encryptRecords   ${rate(sealMs)}  (per-batch HKDF subkey, context-bound, key-committing)`);
  console.log(`  vecseal decryptRecords   ${rate(openMs)}`);
  console.log(`  WebCrypto loop, one key  ${rate(loopMs)}  (random nonce per record, no context binding)`);
  await client.close();
}

async function main(): Promise<void> {
  console.log('vecseal self-check');
  selfCheck(await loadCore());
  await apiDemo();
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
