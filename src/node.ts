/**
 * vecseal/node: what only runs in Node. Providers whose counterpart is reached through a native
 * library or a raw TLS socket: PKCS#11 HSMs (through pkcs11js, an optional peer dependency) and KMIP
 * servers (KMIP 1.2/1.4 over TLS with client certificates). Everything in the package root works
 * here too.
 */
export { Pkcs11Provider, type Pkcs11Mechanism, type Pkcs11ProviderOptions, type PinSource } from './kms/pkcs11.js';
export * from './index.js';
