/**
 * A non-extractable WebCrypto KEK kept in IndexedDB survives a page reload: a same-origin iframe
 * wraps a DEK with the persistent KEK, is reloaded (location.reload()), reads the KEK back from
 * IndexedDB and unwraps the DEK. The stored CryptoKey stays non-extractable.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openKekStore } from '../../src/kms/_kek-store.js';
import { WebCryptoKeyProvider } from '../../src/kms/webcrypto.js';

type Reply = { ready?: true; ok?: boolean; error?: string; wrapped?: number[]; dek?: number[]; extractable?: boolean; loads?: string[] };

function nextMessage(frame: HTMLIFrameElement, predicate: (r: Reply) => boolean): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no answer from the iframe within 20 s')), 20_000);
    const onMessage = (event: MessageEvent<Reply>): void => {
      if (event.source !== frame.contentWindow || !predicate(event.data)) return;
      clearTimeout(timer);
      window.removeEventListener('message', onMessage);
      resolve(event.data);
    };
    window.addEventListener('message', onMessage);
  });
}

const frames: HTMLIFrameElement[] = [];
afterEach(() => {
  for (const f of frames.splice(0)) f.remove();
});

describe('persistent WebCrypto KEK (IndexedDB)', () => {
  for (const algorithm of ['A256GCM', 'A256KW', 'RSA-OAEP-256'] as const) {
    it(`${algorithm}: survives a page reload and stays non-extractable`, async () => {
      const databaseName = `vecseal-persist-${crypto.randomUUID()}`;
      const kekId = `kek-${algorithm}`;
      const frame = document.createElement('iframe');
      frames.push(frame);
      const ready = nextMessage(frame, (r) => r.ready === true);
      frame.src = new URL('./_persist-page.html', import.meta.url).href;
      document.body.append(frame);
      await ready;

      const dek = Array.from(crypto.getRandomValues(new Uint8Array(32)));
      let reply = nextMessage(frame, (r) => r.ok !== undefined);
      frame.contentWindow!.postMessage({ cmd: 'wrap', kekId, databaseName, algorithm, dek }, '*');
      const wrapped = await reply;
      expect(wrapped.error).toBeUndefined();
      expect(wrapped.extractable).toBe(false);

      const reloaded = nextMessage(frame, (r) => r.ready === true);
      frame.contentWindow!.location.reload();
      await reloaded;
      reply = nextMessage(frame, (r) => r.ok !== undefined);
      frame.contentWindow!.postMessage({ cmd: 'unwrap', kekId, databaseName, algorithm, wrapped: wrapped.wrapped }, '*');
      const opened = await reply;
      expect(opened.error).toBeUndefined();
      expect(opened.loads).toEqual(['reload']);
      expect(opened.dek).toEqual(dek);
      expect(opened.extractable).toBe(false);

      // The stored key, read straight from IndexedDB, cannot be exported.
      const store = await openKekStore(databaseName);
      const stored = await store.get(kekId);
      store.close();
      expect(stored?.algorithm).toBe(algorithm);
      expect((stored?.unwrapping ?? stored?.wrapping)?.extractable).toBe(false);
      await expect(crypto.subtle.exportKey(algorithm === 'RSA-OAEP-256' ? 'pkcs8' : 'raw', stored!.unwrapping!)).rejects.toThrow();
      indexedDB.deleteDatabase(databaseName);
    });
  }

  it('a second instance with the same id opens the first one\'s keys; destroy() deletes the stored KEK', async () => {
    const databaseName = `vecseal-persist-${crypto.randomUUID()}`;
    const ctx = { dekId: 'd', keyVersion: 1, collection: 'c', tenant: '' };
    const a = await WebCryptoKeyProvider.persistent({ kekId: 'shared', databaseName });
    const b = await WebCryptoKeyProvider.persistent({ kekId: 'shared', databaseName });
    const dek = crypto.getRandomValues(new Uint8Array(32));
    const w = await a.wrap(dek, ctx);
    expect(await b.unwrap(w, ctx)).toEqual(dek);
    await expect(WebCryptoKeyProvider.persistent({ kekId: 'shared', databaseName, algorithm: 'A256KW' })).rejects.toThrow(/is A256GCM/);
    await a.destroy();
    const store = await openKekStore(databaseName);
    expect(await store.get('shared')).toBeUndefined();
    store.close();
    // A new KEK under the same id is other key material: the old DEK is gone for good.
    const c = await WebCryptoKeyProvider.persistent({ kekId: 'shared', databaseName });
    await expect(c.unwrap(w, ctx)).rejects.toMatchObject({ code: 'AUTHENTICATION_FAILED', reason: 'wrong-key' });
    indexedDB.deleteDatabase(databaseName);
  });
});
