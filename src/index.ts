/**
 * vecseal: client-side encryption of vector embeddings (and their text and metadata) before they
 * reach any database. This entry point grows with the SDK; today it exposes the core and errors.
 */
export { loadCore } from './core/index.js';
export type { Core, PackedBytes, ByteList, SealBatchInput, OpenBatchInput, OpenBatchResult } from './core/index.js';
export { packBytes, segment, unpackBytes } from './core/index.js';
export {
  AuthenticationError,
  FormatError,
  InvalidInputError,
  KeyStateError,
  NotSupportedError,
  PolicyError,
  ProviderError,
  VecsealError,
} from './errors.js';
export type { ErrorCode } from './errors.js';
