/**
 * The version-1 record format (FORMAT.md): context encoding, layout, payload framing, and batch
 * seal/open over any cipher backend.
 */
export { contextEncoder, DTYPE_CODES, encodeContext, encodeContexts, MAX_DIMENSION, vectorByteLength, type BatchContext, type Dtype, type RecordContext } from './context.js';
export { DEFAULT_SUITE, FORMAT_VERSION, overheadBytes, parseRecord, SUITES, type ParsedRecord, type SuiteId } from './layout.js';
export { decodePayload, encodePayload, type DecodedPayload } from './payload.js';
export { bytesToVector, matrixRows, vectorToBytes, type VectorArray, type VectorTypes } from './vectors.js';
export {
  checkDataKey,
  DEK_BYTES,
  keyIdOf,
  openBatch,
  openEncoded,
  openRecords,
  sealBatch,
  sealEncoded,
  sealRecords,
  type DataKey,
  type OpenedRecords,
  type OpenResult,
  type SealedBatch,
  type SealItem,
} from './seal.js';
