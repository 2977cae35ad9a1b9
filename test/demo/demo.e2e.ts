/**
 * The demo page end to end, as a person uses it, in Chromium, Firefox and WebKit: load the bundled
 * GloVe embeddings, seal them in workers into IndexedDB and into PGlite, check the stored rows are
 * ciphertext, search, rotate the DEK and the KEK, suspend and resume, reload the page (the
 * non-extractable KEK and the rows survive), crypto-shred a tenant, and verify the audit log before
 * and after a tamper. A screenshot of each step goes to test-results/demo/.
 */
import { expect, test, type DemoPage } from './fixtures.js';

async function act(demo: DemoPage, id: string): Promise<string> {
  await demo.click(id);
  await demo.idle();
  const status = await demo.text('status');
  // The time of day, so a run that stalls shows where.
  console.log(`${new Date().toISOString().slice(11, 19)} [${demo.browser}] #${id}: ${status}`);
  expect(status, `status after #${id}`).not.toMatch(/failed|could not/);
  return status;
}

async function search(demo: DemoPage, query: string): Promise<string[]> {
  await demo.fill('query', query);
  await act(demo, 'search');
  return (await demo.texts('#search-results li')).map((t) => t.split(/\s+/)[0]!);
}

test('the demo: seal, store, search, rotate, suspend, reload, destroy, verify', async ({ demo }) => {
  await demo.open();
  await demo.idle();
  // Start from nothing, whatever an earlier run left in this browser profile.
  await demo.click('reset');
  await demo.idle();
  expect(await demo.text('stored-counts')).toBe('no rows yet');
  expect(await demo.disabled('seal'), 'Seal needs embeddings first').toBe(true);
  expect(await demo.text('kek-info')).toMatch(/KEK demo-kek-1: WebCrypto A256GCM, non-extractable/);

  // Bad input: a clear message, nothing loaded.
  await demo.click('paste-toggle');
  await demo.fill('paste', '[{"text": "cat", "vector": [0.1, 0.2]}, {"text": "dog", "vector": [0.3]}]');
  await demo.click('use-pasted');
  await demo.idle();
  expect(await demo.text('status')).toMatch(/reading pasted embeddings failed: Error: embedding 2 has 1 numbers; the first has 2/);
  expect(await demo.disabled('seal')).toBe(true);

  // Good input of one's own: pasted, and uploaded as a GloVe text file.
  await demo.fill('paste', '[{"text": "cat", "vector": [0.1, 0.2]}, {"text": "dog", "vector": [0.3, 0.1]}, {"text": "cow", "vector": [0.2, 0.2]}]');
  await act(demo, 'use-pasted');
  expect(await demo.text('embeddings-info')).toMatch(/^pasted: 3 embeddings of 2 dimensions .* e\.g\. cat, dog, cow/);
  await demo.upload('upload', 'my-vectors.txt', 'alpha 1 0 0\nbeta 0 1 0\ngamma 0 0 1\ndelta 1 1 0\n');
  await demo.idle();
  expect(await demo.text('embeddings-info')).toMatch(/^my-vectors\.txt: 4 embeddings of 3 dimensions/);

  await act(demo, 'load-bundled');
  expect(await demo.text('embeddings-info')).toMatch(/10,000 embeddings of 100 dimensions/);

  // acme into IndexedDB.
  expect(await act(demo, 'seal')).toContain('sealed 10,000 records for acme and stored them in IndexedDB');
  expect(await demo.text('ratio')).toMatch(/10,000 records: vecseal \d+ ms .* WebCrypto loop \d+ ms .*: vecseal [\d.]+x \(this call also started the workers and created and wrapped acme's DEK/);
  console.log(`[${demo.browser}] ${await demo.text('ratio')}`);
  // Nothing found in the sealed rows; the same scan finds the words and vectors of unencrypted rows.
  expect(await demo.text('leak-check')).toMatch(/^leak check: read back 10,000 rows \([\d.]+ MB\); none of [\d,]+ words of 6\+ letters and 10,000 vectors found in them \(control: [1-9]\d* words and 200 vectors found in 200 unencrypted rows\)$/);
  expect(await demo.text('stored-counts')).toBe('acme: 10,000 rows');
  const peek = await demo.texts('#stored-rows tbody tr');
  expect(peek).toHaveLength(6);
  for (const row of peek) expect(row).toMatch(/^acme-\d{6}\s+acme\s+\d{3}\s+[0-9a-f]{64}$/);
  await demo.screenshot('1-sealed');

  expect((await search(demo, 'king - man + woman'))[0]).toBe('queen');
  expect((await search(demo, 'paris - france + germany'))[0]).toBe('berlin');
  expect(await demo.text('search-info')).toMatch(/decrypted 10,000 of 10,000 rows/);
  await demo.fill('query', 'king -');
  await demo.click('search');
  await demo.idle();
  expect(await demo.text('status')).toContain('searching failed: Error: the query ends with an operator');
  // Rows of another shape for a tenant that holds GloVe rows are refused before anything is sealed.
  await demo.upload('upload', 'my-vectors.txt', 'alpha 1 0 0\nbeta 0 1 0\n');
  await demo.idle();
  await demo.click('seal');
  await demo.idle();
  expect(await demo.text('status')).toBe('sealing failed: Error: tenant acme already holds 100-d glove-6b-100d rows; use the other tenant or Reset');
  expect(await demo.text('stored-counts')).toBe('acme: 10,000 rows');
  await act(demo, 'load-bundled');
  await demo.screenshot('2-search');

  // globex into PGlite.
  await demo.select('tenant', 'globex');
  await demo.idle();
  await demo.select('store', 'pglite');
  await demo.idle();
  expect(await demo.text('stored-where')).toContain('PGlite');
  expect(await act(demo, 'seal')).toContain('sealed 10,000 records for globex and stored them in PGlite');
  console.log(`[${demo.browser}] ${await demo.text('ratio')}`);
  expect(await demo.text('stored-counts')).toBe('globex: 10,000 rows');
  expect(await demo.text('leak-check')).toMatch(/none of [\d,]+ words .* \(control: [1-9]\d* words and 200 vectors/);
  expect((await search(demo, 'king - man + woman'))[0]).toBe('queen');

  // DEK rotation: version 2 active, version 1 decrypt-only and its records still open.
  await act(demo, 'rotate-dek');
  expect(await demo.texts('#dek-versions tbody tr')).toEqual([expect.stringMatching(/^1\s+decrypt-only\s+10,000\s+demo-kek-1/), expect.stringMatching(/^2\s+active\s+0\s+demo-kek-1/)]);
  expect((await search(demo, 'woman'))[0]).toBe('girl');
  // Re-encryption moves every row to version 2 (the rows in PGlite are rewritten in place).
  await act(demo, 'reencrypt');
  expect(await demo.text('key-message')).toBe('re-encryption to DEK version 2: 10,000 rows moved, 0 already there, 0 did not open');
  expect(await demo.texts('#dek-versions tbody tr')).toEqual([expect.stringMatching(/^1\s+decrypt-only\s+10,000\s/), expect.stringMatching(/^2\s+active\s+10,000\s/)]);
  expect((await search(demo, 'king - man + woman'))[0]).toBe('queen');
  await act(demo, 'reencrypt');
  expect(await demo.text('key-message'), 'a second run finds nothing to move').toBe('re-encryption to DEK version 2: 0 rows moved, 10,000 already there, 0 did not open');

  // Suspend: nothing opens; resume: everything does again.
  await act(demo, 'suspend');
  await search(demo, 'king');
  expect(await demo.text('search-info')).toMatch(/none of the 10,000 rows opens: 10,000 fail with KeyStateError/);
  await act(demo, 'resume');
  expect(await search(demo, 'king')).toContain('queen');

  // KEK rotation: every DEK re-wrapped under demo-kek-2, records untouched, the old KEK destroyed.
  await act(demo, 'rotate-kek');
  expect(await demo.text('key-message')).toMatch(/new KEK demo-kek-2: 3 DEK version\(s\) re-wrapped without touching a record; demo-kek-1 destroyed/);
  expect(await demo.texts('#dek-versions tbody tr')).toEqual([expect.stringMatching(/decrypt-only\s+10,000\s+demo-kek-2/), expect.stringMatching(/active\s+10,000\s+demo-kek-2/)]);
  await demo.screenshot('3-keys');

  // Reload: the KEK (non-extractable, in IndexedDB), the wrapped DEKs and the rows are all still there.
  await demo.reload();
  await demo.idle();
  expect(await demo.text('status')).toMatch(/ready: KEK demo-kek-2 opened from IndexedDB; 10,000 sealed rows stored/);
  expect(await demo.text('kek-info')).toMatch(/KEK demo-kek-2: WebCrypto A256GCM, non-extractable/);
  await demo.select('tenant', 'globex');
  await demo.idle();
  expect((await search(demo, 'king - man + woman'))[0]).toBe('queen');

  // A KEK rotation cut off by a closed page just after it recorded the new generation: the page
  // reopens with the new KEK and the old one beside it, every row still opens, and Rotate KEK
  // finishes that rotation (and destroys the old KEK) instead of starting another.
  await demo.setStorage({ 'vecseal-demo:kek-retiring': '2', 'vecseal-demo:kek-generation': '3' });
  await demo.reload();
  await demo.idle();
  expect(await demo.text('status')).toMatch(/ready: KEK demo-kek-3 opened from IndexedDB/);
  await demo.select('tenant', 'globex');
  await demo.idle();
  expect((await search(demo, 'king - man + woman'))[0]).toBe('queen');
  await act(demo, 'rotate-kek');
  expect(await demo.text('key-message')).toMatch(/new KEK demo-kek-3: 3 DEK version\(s\) re-wrapped without touching a record; demo-kek-2 destroyed/);
  expect((await search(demo, 'king - man + woman'))[0]).toBe('queen');

  // Crypto-shredding globex: a verified receipt, and its rows never open again.
  await act(demo, 'destroy');
  expect(await demo.text('key-message')).toMatch(/tenant globex shredded: 2 DEK version\(s\) erased .* receipt verified \(digest ok, signature ok\)/);
  expect(await demo.text('receipt')).toContain('"type": "vecseal/shred-receipt/v1"');
  expect(await demo.texts('#dek-versions tbody tr')).toEqual([expect.stringMatching(/^1\s+destroyed/), expect.stringMatching(/^2\s+destroyed/)]);
  await search(demo, 'king');
  expect(await demo.text('search-info')).toMatch(/none of the 10,000 rows opens: 10,000 fail with KeyDestroyedError/);
  expect(await demo.disabled('seal'), 'embeddings are gone after the reload').toBe(true);
  for (const id of ['rotate-dek', 'suspend', 'resume', 'destroy']) expect(await demo.disabled(id), `#${id} for a shredded tenant`).toBe(true);
  await demo.screenshot('4-destroyed');
  // Nothing new can be sealed for a shredded tenant.
  await act(demo, 'load-bundled');
  await demo.click('seal');
  await demo.idle();
  expect(await demo.text('status')).toMatch(/^sealing failed: KeyDestroyedError \(KEY_STATE\): /);

  // acme, in IndexedDB, is untouched.
  await demo.select('tenant', 'acme');
  await demo.idle();
  await demo.select('store', 'indexeddb');
  await demo.idle();
  expect((await search(demo, 'king - man + woman'))[0]).toBe('queen');

  // The audit log verifies; a tampered entry is found; undone, it verifies again.
  await act(demo, 'verify');
  expect(await demo.text('verify-result')).toMatch(/^OK: \d+ entries, hash chain intact, newest signed checkpoint at entry \d+ verified/);
  const operations = (await demo.texts('#audit-entries tbody tr')).join('\n');
  // The newest entries: the shredded tenant's failed open, the destroy, acme's open.
  expect(operations).toMatch(/\topen\tfailed\tglobex\t10,000\t/);
  expect(operations).toMatch(/\tdestroy\tok\tglobex\t2\t/);
  expect(operations).toMatch(/\topen\tok\tacme\t10,000\t/);
  await act(demo, 'tamper');
  await act(demo, 'verify');
  expect(await demo.text('verify-result')).toMatch(/^FAILED: .*entry \d+ edited/);
  await demo.screenshot('5-tampered');
  await act(demo, 'untamper');
  await act(demo, 'verify');
  expect(await demo.text('verify-result')).toMatch(/^OK: /);
  await demo.screenshot('6-verified');
  expect(demo.errors, 'console errors').toEqual([]);
});
