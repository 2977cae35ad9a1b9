/**
 * Loaded in an iframe by multitab.browser.test.ts: another browsing context of the same origin
 * (what a second tab is to IndexedDB and BroadcastChannel) with a vecseal client of its own over
 * the same IndexedDB key store and the same persistent KEK. It answers the parent's commands.
 */
import { createClient, IndexedDbKeyStore, WebCryptoKeyProvider, type VecsealClient } from '../../src/index.js';

interface Command {
  id: number;
  cmd: 'start' | 'open' | 'seal' | 'cached' | 'suspend' | 'destroy';
  storeName?: string;
  kekDatabase?: string;
  channel?: string;
  scope?: { collection: string; tenant: string };
  records?: { id: string; ciphertext: number[] }[];
  dimension?: number;
}

let client: VecsealClient | undefined;

async function run(c: Command): Promise<unknown> {
  if (c.cmd === 'start') {
    const provider = await WebCryptoKeyProvider.persistent({ kekId: 'kek-tabs', databaseName: c.kekDatabase! });
    client = await createClient({ provider, store: await IndexedDbKeyStore.open({ databaseName: c.storeName! }), workers: 1, channel: c.channel! });
    return true;
  }
  if (!client) throw new Error('not started');
  switch (c.cmd) {
    case 'cached':
      return client.cachedKeys;
    case 'open': {
      const records = c.records!.map((r) => ({ id: r.id, ciphertext: Uint8Array.from(r.ciphertext) }));
      const out = await client.decryptVectors({ ...c.scope!, dimension: c.dimension!, records });
      return out.map((r) => (r.ok ? 'ok' : r.error.name));
    }
    case 'seal': {
      const vectors = [Float32Array.from({ length: c.dimension! }, (_, i) => i / 10)];
      const out = await client.encryptVectors({ ...c.scope!, ids: ['from-tab'], vectors });
      return out.map((r) => ({ id: r.id, ciphertext: Array.from(r.ciphertext) }));
    }
    case 'suspend':
      await client.keys.suspend(c.scope!);
      return true;
    case 'destroy':
      return (await client.keys.destroy(c.scope!)).destroyed.length;
  }
}

window.addEventListener('message', (event: MessageEvent<Command>) => {
  void run(event.data).then(
    (value) => parent.postMessage({ id: event.data.id, value }, '*'),
    (err: unknown) => parent.postMessage({ id: event.data.id, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) }, '*'),
  );
});
parent.postMessage({ ready: true }, '*');
