/**
 * A separate process that writes to a FileKeyStore, for file.node.test.ts (run with node --import tsx).
 *
 *   crash <dir>                 writes DEKs, state changes, usage, audit lines and meta in a loop until
 *                               killed; after each write resolves it prints what is now committed
 *   contend <dir> <name> <n>    appends n audit lines (retrying the seq compare-and-set), adds usage n
 *                               times and races the other writer to create n DEKs; prints its tally
 *
 * The wrapped keys are random bytes in WrappedKey shape: the store neither unwraps nor checks them.
 */
import { FileKeyStore } from '../../src/store/file.js';
import type { StoredDek } from '../../src/store/store.js';

const [mode, dir, name = 'w', countText = '0'] = process.argv.slice(2);
const say = (msg: object): void => void process.stdout.write(`${JSON.stringify(msg)}\n`);
const random = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));

/**
 * Wrapped bytes of realistic size, and in crash mode now and then of megabytes: Node writes a file
 * that large in several write(2) calls, so a kill can land between them and a store that wrote in
 * place (not temp-and-rename) would be caught with half a file.
 */
function wrappedSize(): number {
  return mode === 'crash' && Math.random() < 0.5 ? 400_000 + Math.floor(Math.random() * 800_000) : 40 + Math.floor(Math.random() * 4000);
}

function fakeDek(dekId: string, version: number): StoredDek {
  const wrapped = { provider: 'test', kekId: 'kek', algorithm: 'A256GCM', bytes: new Uint8Array(wrappedSize()).fill(0xa5), contextDigest: random(16), checksum: random(16) };
  return { dekId, version, collection: 'docs', tenant: `t${version % 3}`, state: 'active', wrapped, createdAt: new Date().toISOString() };
}

async function nextSeq(store: FileKeyStore, guess: number): Promise<number> {
  const after = await store.readAudit(guess);
  return guess + after.length;
}

async function crash(store: FileKeyStore): Promise<never> {
  let seq = await nextSeq(store, 1);
  for (let i = (await store.listDeks()).length + 1; ; i++) {
    const dekId = `dek/crash/${i}`;
    await store.createDek(fakeDek(dekId, 1));
    say({ dek: dekId });
    await store.updateDek(dekId, 1, { state: 'decrypt-only', updatedAt: new Date().toISOString() }, { state: 'active' });
    say({ state: dekId });
    say({ usage: dekId, total: await store.addUsage(dekId, 1, 1 + (i % 7)) });
    // Lines from a few bytes to 64 KiB, so appends of many pages are in flight when the kill lands.
    const line = JSON.stringify({ seq, op: 'generate', dekId, pad: 'x'.repeat(Math.floor(Math.random() ** 3 * 65536)) });
    if (!(await store.appendAudit({ seq, line }))) throw new Error(`audit seq ${seq} refused with a single writer`);
    say({ audit: seq });
    seq++;
    await store.setMeta('progress', String(i));
    say({ meta: i });
  }
}

async function contend(store: FileKeyStore, n: number): Promise<void> {
  let seq = 1;
  let conflicts = 0;
  let created = 0;
  for (let i = 0; i < n; i++) {
    while (!(await store.appendAudit({ seq, line: JSON.stringify({ writer: name, i }) }))) {
      conflicts++;
      seq = await nextSeq(store, seq);
    }
    seq++;
    await store.addUsage('dek/shared', 1, 1);
    if (await store.createDek(fakeDek(`dek/contended/${i}`, 1))) created++;
  }
  say({ done: name, conflicts, created });
}

const store = await FileKeyStore.open({ path: dir!, lockTimeoutMs: 20_000 });
say({ ready: process.pid });
if (mode === 'crash') await crash(store);
else if (mode === 'contend') await contend(store, Number(countText));
else throw new Error(`unknown mode ${mode}`);
await store.close();
