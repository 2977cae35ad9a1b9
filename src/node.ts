/**
 * vecseal/node: what only runs in Node. Providers whose counterpart is reached through a native
 * library or a raw TLS socket: PKCS#11 HSMs (through pkcs11js, an optional peer dependency) and KMIP
 * servers (KMIP 1.2/1.4 over TLS with client certificates). Everything in the package root works
 * here too.
 */
export { Pkcs11Provider, type Pkcs11Mechanism, type Pkcs11ProviderOptions, type PinSource } from './kms/pkcs11.js';
export { KmipProvider, revokeKmipKey, destroyKmipKey, type KmipProviderOptions } from './kms/kmip.js';
export {
  KmipClient,
  KmipResultError,
  KMIP_PORT,
  type KmipClientOptions,
  type KmipTlsOptions,
  type KmipCallOptions,
  type KmipKey,
  type KmipAttribute,
  type CreateKeyOptions,
  type EncryptRequest,
  type DecryptRequest,
  type EncryptResult,
  type LocateQuery,
  type CipherMode,
} from './kms/kmip/client.js';
export { KMIP_1_2, KMIP_1_4, type ProtocolVersion as KmipProtocolVersion } from './kms/kmip/messages.js';
export { State as KmipState, ResultReason as KmipResultReason, RevocationReasonCode as KmipRevocationReason, UsageMask as KmipUsageMask } from './kms/kmip/tags.js';
export { FileKeyStore, type FileKeyStoreOptions } from './store/file.js';
export * from './index.js';
