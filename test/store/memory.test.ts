/** MemoryKeyStore against the store conformance suite (two handles share one instance's maps). */
import { MemoryKeyStore } from '../../src/store/memory.js';
import { encodeWrappedKey } from '../../src/kms/provider.js';
import { runStoreSuite } from './_store-suite.js';

runStoreSuite('memory', async () => {
  const store = new MemoryKeyStore();
  return {
    store,
    second: async () => store,
    rawBytes: async () => {
      const deks = await store.listDeks();
      const audit = await store.readAudit();
      const enc = new TextEncoder();
      return [...deks.map((d) => encodeWrappedKey(d.wrapped)), enc.encode(JSON.stringify(deks.map((d) => ({ ...d, wrapped: undefined })))), ...audit.map((a) => enc.encode(a.line))];
    },
  };
});
