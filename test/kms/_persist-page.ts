/**
 * Loaded in an iframe by webcrypto-persist.browser.test.ts. Each load opens the persistent KEK
 * from IndexedDB (creating it on the first load) and answers the parent's commands, so the parent
 * can wrap a DEK, reload this page, and unwrap it again with the KEK the reload read back.
 */
import { decodeWrappedKey, encodeWrappedKey } from '../../src/kms/provider.js';
import { WebCryptoKeyProvider } from '../../src/kms/webcrypto.js';

interface Command {
  cmd: 'wrap' | 'unwrap';
  kekId: string;
  databaseName: string;
  algorithm: 'A256GCM' | 'A256KW' | 'RSA-OAEP-256';
  dek?: number[];
  wrapped?: number[];
}

const context = { dekId: 'dek/persist/', keyVersion: 1, collection: 'persist', tenant: '' };

window.addEventListener('message', (event: MessageEvent<Command>) => {
  void (async () => {
    const c = event.data;
    try {
      const provider = await WebCryptoKeyProvider.persistent({ kekId: c.kekId, databaseName: c.databaseName, algorithm: c.algorithm });
      const described = await provider.describe();
      if (c.cmd === 'wrap') {
        const wrapped = await provider.wrap(Uint8Array.from(c.dek!), context);
        parent.postMessage({ ok: true, wrapped: [...encodeWrappedKey(wrapped)], extractable: described.details?.extractable }, '*');
      } else {
        const dek = await provider.unwrap(decodeWrappedKey(Uint8Array.from(c.wrapped!)), context);
        parent.postMessage({ ok: true, dek: [...dek], extractable: described.details?.extractable, loads: performance.getEntriesByType('navigation').map((n) => (n as PerformanceNavigationTiming).type) }, '*');
      }
    } catch (err) {
      parent.postMessage({ ok: false, error: `${(err as Error).name}: ${(err as Error).message}` }, '*');
    }
  })();
});
parent.postMessage({ ready: true }, '*');
