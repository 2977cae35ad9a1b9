/**
 * `npm start`, until the demo makes it the end-to-end job: a short self-check of the core in this
 * Node process (AES-256-GCM round trip, tampering and a wrong context rejected, agreement with
 * node:crypto, batch forms agreeing with one-shot ones, HKDF per RFC 5869 as node:crypto computes
 * it), then the core benchmark in Node with moderate counts (under a minute). It prints the table
 * and writes nothing: bench/RESULTS.md comes from the full `npm run bench`.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { machineInfo, runNodeBench } from '../bench/node-bench.js';
import { formatRuntime, targetLines } from '../bench/report.js';
import { loadCore, type Core } from '../src/core/index.js';

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

async function main(): Promise<void> {
  console.log('vecseal self-check');
  selfCheck(await loadCore());
  console.log('\ncore benchmark in Node (moderate counts; `npm run bench` runs the full one in Node and three browsers)');
  const report = await runNodeBench('moderate', (line) => console.log(line));
  console.log(`\n${formatRuntime(report)}\n`);
  if (report.error !== null) throw new Error(`benchmark failed: ${report.error}`);
  console.log(targetLines({ date: new Date().toISOString(), preset: 'moderate', machine: machineInfo(), libraries: [], runtimes: [report] }).join('\n'));
  console.log('(moderate counts; the targets are judged on the full run in bench/RESULTS.md)');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
