/**
 * vecseal: client-side encryption of vector embeddings (and their text and metadata) before they
 * reach any database. Start with createClient (README quickstart).
 */
export { createClient, dekIdFor, VecsealClient } from './client.js';
export type {
  ClientOptions,
  DecryptedRecord,
  DecryptedVector,
  DecryptVectorsInput,
  EncryptRecordsInput,
  EncryptVectorsInput,
  PlainRecord,
  Scope,
  SealedRecord,
  StreamOptions,
} from './client.js';
export type { RunOptions } from './worker/engine.js';
export type { BackendChoice, BackendName } from './backends/index.js';
export { WebCryptoKeyProvider } from './kms/webcrypto.js';
export type { KeyProvider, WrapContext, WrappedKey } from './kms/provider.js';
export { MemoryKeyStore } from './store/memory.js';
export type { DekState, KeyStore, StoredDek } from './store/store.js';
export * from './errors.js';
export { overheadBytes, FORMAT_VERSION, DEFAULT_SUITE, type Dtype, type SuiteId, type VectorArray, type VectorTypes } from './format/index.js';

