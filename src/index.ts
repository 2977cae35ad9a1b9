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
  ReencryptJob,
  Scope,
  SealedRecord,
  StreamOptions,
} from './client.js';
export type { RunOptions } from './worker/engine.js';
export type { BackendChoice, BackendName } from './backends/index.js';
export { BaseKeyProvider, DEK_BYTES, decodeWrappedKey, encodeWrappedKey, encodeWrapContext, WRAPPED_KEY_FORMAT } from './kms/provider.js';
export type { Attempt, KekDescription, KeyProvider, ProviderCallOptions, ProviderOptions, RawWrapped, RetryOptions, WrapContext, WrappedKey } from './kms/provider.js';
export { WebCryptoKeyProvider, type PersistentOptions, type WebCryptoAlgorithm, type WebCryptoProviderOptions } from './kms/webcrypto.js';
export { MultiKeyProvider, type MultiProviderOptions, type UnwrapSource } from './kms/multi.js';
export { AwsKmsProvider, awsEncryptionContext, awsKmsEndpoint, type AwsCredentials, type AwsCredentialSource, type AwsKmsProviderOptions } from './kms/aws-kms.js';
export { GcpKmsProvider, GCP_KMS_ENDPOINT, GCP_KMS_ALGORITHM, type GcpKmsProviderOptions } from './kms/gcp-kms.js';
export { AzureKeyVaultProvider, type AzureKeyVaultProviderOptions, type AzureTokenRequest, type AzureWrapAlgorithm } from './kms/azure-key-vault.js';
export {
  VaultTransitProvider,
  VAULT_MAX_BATCH,
  VAULT_TRANSIT_ASSOCIATED_DATA,
  VAULT_TRANSIT_DERIVED,
  type VaultRewrapItem,
  type VaultRewrapResult,
  type VaultTransitProviderOptions,
} from './kms/vault-transit.js';
export { KeyManager, KeyDestroyedError, type DestroyOptions, type DestroyScope, type KeyEvent, type RotateKekOptions, type TenantProviders } from './keys/manager.js';
export { KeyAdmin } from './keys/admin.js';
export type { CacheLimits } from './keys/cache.js';
export { ANONYMOUS, KEY_ACTIONS, type AccessPolicy, type KeyAction, type PolicyRule, type Principal } from './keys/policy.js';
export { RECEIPT_TYPE, verifyShredReceipt, type KekShred, type ReceiptVerification, type ShreddedDek, type ShredReceipt } from './keys/receipt.js';
export type { ReencryptPage, ReencryptProgress, ReencryptResult, SealedRow } from './keys/reencrypt.js';
export { MemoryKeyStore } from './store/memory.js';
export { IndexedDbKeyStore, DEFAULT_KEY_DATABASE, type IndexedDbKeyStoreOptions } from './store/indexeddb.js';
export { PostgresKeyStore, type PostgresKeyStoreOptions, type SqlClient } from './store/postgres.js';
export type { DekExpectation, DekPatch, DekState, KeyStore, StoredAuditLine, StoredDek } from './store/store.js';
export * from './audit/index.js';
export * from './errors.js';
export { overheadBytes, FORMAT_VERSION, DEFAULT_SUITE, type Dtype, type SuiteId, type VectorArray, type VectorTypes } from './format/index.js';

