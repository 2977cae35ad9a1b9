/**
 * Multi-tab invalidation in a real browser: the test page and a same-origin iframe (another
 * browsing context, as a second tab is) each run a vecseal client over one IndexedDB key store and
 * one persistent non-extractable KEK. A suspend or destroy in either reaches the other at once: its
 * cached DEK is wiped from its workers by the BroadcastChannel notice, and its next open fails.
 */
import { deleteDB } from 'idb';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient, IndexedDbKeyStore, WebCryptoKeyProvider, type SealedRecord, type VecsealClient } from '../../src/index.js';

const DIM = 16;
let frame: HTMLIFrameElement | undefined;
let next = 1;
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  frame?.remove();
  frame = undefined;
  for (const f of cleanup.splice(0)) await f();
});

function ask(cmd: Record<string, unknown>): Promise<any> {
  const id = next++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer from the other tab to ${String(cmd.cmd)} within 20 s`)), 20_000);
    const onMessage = (event: MessageEvent): void => {
      if (event.source !== frame!.contentWindow || event.data?.id !== id) return;
      clearTimeout(timer);
      window.removeEventListener('message', onMessage);
      if (event.data.error) reject(new Error(event.data.error));
      else resolve(event.data.value);
    };
    window.addEventListener('message', onMessage);
    frame!.contentWindow!.postMessage({ ...cmd, id }, '*');
  });
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + 5000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function twoTabs() {
  const storeName = `vecseal-tabs-${crypto.randomUUID()}`;
  const kekDatabase = `vecseal-tabs-kek-${crypto.randomUUID()}`;
  const channel = `vecseal-tabs-${crypto.randomUUID()}`;
  const provider = await WebCryptoKeyProvider.persistent({ kekId: 'kek-tabs', databaseName: kekDatabase });
  const store = await IndexedDbKeyStore.open({ databaseName: storeName });
  const here: VecsealClient = await createClient({ provider, store, workers: 1, channel });
  cleanup.push(async () => {
    await here.close();
    await store.close();
    await deleteDB(storeName);
    await deleteDB(kekDatabase);
  });
  frame = document.createElement('iframe');
  const ready = new Promise<void>((resolve) => {
    const onMessage = (e: MessageEvent) => {
      if (e.source === frame?.contentWindow && e.data?.ready) {
        window.removeEventListener('message', onMessage);
        resolve();
      }
    };
    window.addEventListener('message', onMessage);
  });
  frame.src = new URL('./_tab-page.html', import.meta.url).href;
  document.body.append(frame);
  await ready;
  await ask({ cmd: 'start', storeName, kekDatabase, channel });
  return here;
}

const wire = (records: SealedRecord[]) => records.map((r) => ({ id: r.id, ciphertext: Array.from(r.ciphertext) }));

describe('two tabs, one key store', () => {
  it('a suspend here wipes the other tab\'s cached DEK at once; resume brings it back', async () => {
    const here = await twoTabs();
    const scope = { collection: 'docs', tenant: 'acme' };
    const sealed = await here.encryptVectors({ ...scope, ids: ['a', 'b'], vectors: [new Float32Array(DIM).fill(1), new Float32Array(DIM).fill(2)] });
    expect(await ask({ cmd: 'open', scope, dimension: DIM, records: wire(sealed) })).toEqual(['ok', 'ok']);
    expect(await ask({ cmd: 'cached' })).toBe(1);

    await here.keys.suspend(scope);
    await until('the other tab to drop its DEK', async () => (await ask({ cmd: 'cached' })) === 0);
    expect(await ask({ cmd: 'open', scope, dimension: DIM, records: wire(sealed) })).toEqual(['KeyStateError', 'KeyStateError']);
    await expect(ask({ cmd: 'seal', scope, dimension: DIM })).rejects.toThrow(/suspended/);

    await here.keys.resume(scope);
    expect(await ask({ cmd: 'open', scope, dimension: DIM, records: wire(sealed) })).toEqual(['ok', 'ok']);
  });

  it('a destroy in the other tab reaches this one: cached DEK wiped, records fail with KeyDestroyedError', async () => {
    const here = await twoTabs();
    const scope = { collection: 'docs', tenant: 'globex' };
    const fromTab = (await ask({ cmd: 'seal', scope, dimension: DIM })) as { id: string; ciphertext: number[] }[];
    const records = fromTab.map((r) => ({ id: r.id, ciphertext: Uint8Array.from(r.ciphertext) }));
    expect((await here.decryptVectors({ ...scope, dimension: DIM, records })).map((r) => r.ok)).toEqual([true]);
    expect(here.cachedKeys).toBe(1);

    expect(await ask({ cmd: 'destroy', scope })).toBe(1);
    await until('this tab to drop its DEK', async () => here.cachedKeys === 0);
    const out = await here.decryptVectors({ ...scope, dimension: DIM, records });
    expect(out.map((r) => (r.ok ? 'ok' : r.error.name))).toEqual(['KeyDestroyedError']);
  });
});
