/**
 * KMIP request and response messages (KMIP 1.4 section 7 "Message Contents" and section 6 "Message
 * Data"; 1.2 has the same shape): a Request Message is a Request Header (Protocol Version, optional
 * Maximum Response Size, Batch Count) and Batch Items (Operation, optional Unique Batch Item ID,
 * Request Payload); a Response Message is a Response Header (Protocol Version, Time Stamp, Batch
 * Count) and Batch Items carrying Result Status, Result Reason and Result Message.
 *
 * Header fields this client does not use (1.4's correlation values, attestation, nonces) are skipped
 * when reading; anything that breaks the shape above is a FormatError.
 */
import { FormatError, InvalidInputError } from '../../errors.js';
import { ResultStatus, Tag } from './tags.js';
import {
  byteString,
  decodeTtlv,
  encodeTtlv,
  enumeration,
  findAll,
  integer,
  ItemType,
  optional,
  readHeader,
  required,
  structure,
  TTLV_HEADER_BYTES,
  type TtlvItem,
  type TtlvStructure,
} from './ttlv.js';

export interface ProtocolVersion {
  major: number;
  minor: number;
}

export const KMIP_1_2: ProtocolVersion = Object.freeze({ major: 1, minor: 2 });
/** Adds Authenticated Encryption Additional Data and Tag to Encrypt / Decrypt. */
export const KMIP_1_4: ProtocolVersion = Object.freeze({ major: 1, minor: 4 });
/** What a client speaks unless told otherwise. */
export const DEFAULT_PROTOCOL_VERSION = KMIP_1_2;

export interface RequestBatchItem {
  /** An Operation enumeration value (tags.ts Operation). */
  operation: number;
  /** The children of the Request Payload structure. */
  payload: readonly TtlvItem[];
  /** Unique Batch Item ID; the server echoes it. */
  id?: Uint8Array | undefined;
}

export interface RequestMessage {
  version?: ProtocolVersion | undefined;
  /** Largest response (bytes) the client accepts; the server answers Response Too Large beyond it. */
  maximumResponseSize?: number | undefined;
  items: readonly RequestBatchItem[];
}

export interface ResponseBatchItem {
  operation: number | undefined;
  id: Uint8Array | undefined;
  /** Result Status (tags.ts ResultStatus). */
  status: number;
  /** Result Reason, present when the status is not Success. */
  reason: number | undefined;
  message: string | undefined;
  /** The Response Payload structure, when the operation returned one. */
  payload: TtlvStructure | undefined;
}

export interface ResponseMessage {
  version: ProtocolVersion;
  /** Server time, POSIX seconds. */
  timeStamp: bigint | undefined;
  items: ResponseBatchItem[];
}

function protocolVersion(v: ProtocolVersion): TtlvStructure {
  if (v === null || typeof v !== 'object' || !Number.isInteger(v.major) || !Number.isInteger(v.minor) || v.major < 1 || v.minor < 0) {
    throw new InvalidInputError('a KMIP protocol version must be { major >= 1, minor >= 0 } integers');
  }
  return structure(Tag.ProtocolVersion, [integer(Tag.ProtocolVersionMajor, v.major), integer(Tag.ProtocolVersionMinor, v.minor)]);
}

/** The TTLV tree of a request message. */
export function requestMessageItem(message: RequestMessage): TtlvStructure {
  if (message === null || typeof message !== 'object' || !Array.isArray(message.items) || message.items.length === 0) {
    throw new InvalidInputError('a KMIP request needs at least one batch item');
  }
  const header: TtlvItem[] = [protocolVersion(message.version ?? DEFAULT_PROTOCOL_VERSION)];
  if (message.maximumResponseSize !== undefined) header.push(integer(Tag.MaximumResponseSize, message.maximumResponseSize));
  header.push(integer(Tag.BatchCount, message.items.length));
  const items = message.items.map((item) => {
    const fields: TtlvItem[] = [enumeration(Tag.Operation, item.operation)];
    if (item.id !== undefined) fields.push(byteString(Tag.UniqueBatchItemId, item.id));
    fields.push(structure(Tag.RequestPayload, item.payload));
    return structure(Tag.BatchItem, fields);
  });
  return structure(Tag.RequestMessage, [structure(Tag.RequestHeader, header), ...items]);
}

/**
 * Encodes a request message.
 * @throws InvalidInputError for an empty batch or values KMIP cannot carry
 */
export function encodeRequestMessage(message: RequestMessage): Uint8Array {
  return encodeTtlv(requestMessageItem(message));
}

/**
 * Total bytes of the message whose first 8 bytes are `header`: what a reader must collect before
 * decoding. The outer item must be a Structure with the Response Message (or Request Message) tag.
 * @throws FormatError when the header is not one of a KMIP message
 */
export function messageLength(header: Uint8Array, expectedTag: number = Tag.ResponseMessage): number {
  if (header.length < TTLV_HEADER_BYTES) throw new FormatError('KMIP message header is truncated');
  const { tag, type, length } = readHeader(header.subarray(0, TTLV_HEADER_BYTES));
  if (tag !== expectedTag || type !== ItemType.Structure) {
    throw new FormatError(`expected a KMIP message (tag 0x${expectedTag.toString(16)}, Structure); got tag 0x${tag.toString(16)} type 0x${type.toString(16)}`);
  }
  return TTLV_HEADER_BYTES + length;
}

function readVersion(s: TtlvStructure): ProtocolVersion {
  const v = required(s, Tag.ProtocolVersion, ItemType.Structure, 'Protocol Version');
  return {
    major: required(v, Tag.ProtocolVersionMajor, ItemType.Integer, 'Protocol Version Major').value,
    minor: required(v, Tag.ProtocolVersionMinor, ItemType.Integer, 'Protocol Version Minor').value,
  };
}

/** Reads a Response Message from its TTLV tree. */
export function readResponseMessage(root: TtlvItem): ResponseMessage {
  if (root.tag !== Tag.ResponseMessage || root.type !== ItemType.Structure) throw new FormatError('not a KMIP Response Message');
  const header = required(root, Tag.ResponseHeader, ItemType.Structure, 'Response Header');
  const count = required(header, Tag.BatchCount, ItemType.Integer, 'Batch Count').value;
  const batch = findAll(root, Tag.BatchItem);
  if (batch.length !== count) throw new FormatError(`KMIP response says Batch Count ${count} but holds ${batch.length} batch items`);
  const items = batch.map((b): ResponseBatchItem => {
    if (b.type !== ItemType.Structure) throw new FormatError('KMIP Batch Item is not a Structure');
    const status = required(b, Tag.ResultStatus, ItemType.Enumeration, 'Result Status').value;
    const reason = optional(b, Tag.ResultReason, ItemType.Enumeration, 'Result Reason')?.value;
    if (status !== ResultStatus.Success && reason === undefined) throw new FormatError('KMIP failed batch item lacks its Result Reason');
    return {
      operation: optional(b, Tag.Operation, ItemType.Enumeration, 'Operation')?.value,
      id: optional(b, Tag.UniqueBatchItemId, ItemType.ByteString, 'Unique Batch Item ID')?.value,
      status,
      reason,
      message: optional(b, Tag.ResultMessage, ItemType.TextString, 'Result Message')?.value,
      payload: optional(b, Tag.ResponsePayload, ItemType.Structure, 'Response Payload'),
    };
  });
  return { version: readVersion(header), timeStamp: optional(header, Tag.TimeStamp, ItemType.DateTime, 'Time Stamp')?.value, items };
}

/**
 * Decodes a whole Response Message.
 * @throws FormatError for malformed TTLV or a response that lacks required fields
 */
export function decodeResponseMessage(bytes: Uint8Array): ResponseMessage {
  return readResponseMessage(decodeTtlv(bytes));
}
