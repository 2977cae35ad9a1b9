/**
 * The version-1 record format (FORMAT.md): context encoding, layout, payload framing, and batch
 * seal/open on the calling thread.
 */
export { DTYPE_CODES, encodeContext, MAX_DIMENSION, vectorByteLength, type Dtype, type RecordContext } from './context.js';
export { DEFAULT_SUITE, FORMAT_VERSION, overheadBytes, parseRecord, SUITES, type ParsedRecord, type SuiteId } from './layout.js';
export { decodePayload, encodePayload, type DecodedPayload } from './payload.js';
export { bytesToVector, matrixRows, vectorToBytes, type VectorArray, type VectorTypes } from './vectors.js';
export { DEK_BYTES, keyIdOf, openRecords, sealRecords, type DataKey, type OpenResult, type SealItem } from './seal.js';
