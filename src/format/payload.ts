/**
 * The plaintext payload of a record (FORMAT.md section 5): the vector's bytes, optionally followed
 * by text and JSON metadata. The vector length is fixed by the context, so a vector-only payload
 * needs no framing at all.
 */
import { FormatError, InvalidInputError } from '../errors.js';

/** u32 text length that marks "no text" (distinct from an empty string). */
const NO_TEXT = 0xffff_ffff;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export interface DecodedPayload {
  vector: Uint8Array;
  text?: string;
  metadata?: unknown;
}

/** Builds a payload; with neither text nor metadata it is the vector bytes themselves. */
export function encodePayload(vector: Uint8Array, text?: string, metadata?: unknown): Uint8Array {
  if (text === undefined && metadata === undefined) return vector;
  if (text !== undefined && typeof text !== 'string') throw new InvalidInputError(`text must be a string; got ${typeof text}`);
  const textBytes = text === undefined ? new Uint8Array(0) : encoder.encode(text);
  let json = '';
  if (metadata !== undefined) {
    try {
      json = JSON.stringify(metadata) ?? '';
    } catch (err) {
      throw new InvalidInputError('metadata must be JSON-serialisable', { cause: err });
    }
  }
  const metaBytes = encoder.encode(json);
  const out = new Uint8Array(vector.length + 4 + textBytes.length + metaBytes.length);
  out.set(vector, 0);
  new DataView(out.buffer).setUint32(vector.length, text === undefined ? NO_TEXT : textBytes.length, false);
  out.set(textBytes, vector.length + 4);
  out.set(metaBytes, vector.length + 4 + textBytes.length);
  return out;
}

/**
 * Splits an authenticated payload.
 * @throws FormatError if it does not match the vector length or its framing is broken
 */
export function decodePayload(payload: Uint8Array, vectorLength: number): DecodedPayload {
  if (payload.length < vectorLength) throw new FormatError(`payload has ${payload.length} bytes, the context's vector needs ${vectorLength}`);
  const vector = payload.subarray(0, vectorLength);
  if (payload.length === vectorLength) return { vector };
  if (payload.length < vectorLength + 4) throw new FormatError('payload has trailing bytes but no text-length field');
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const textLength = view.getUint32(vectorLength, false);
  const textStart = vectorLength + 4;
  const textEnd = textLength === NO_TEXT ? textStart : textStart + textLength;
  if (textEnd > payload.length) throw new FormatError('payload text length runs past its end');
  try {
    const out: DecodedPayload = { vector };
    if (textLength !== NO_TEXT) out.text = decoder.decode(payload.subarray(textStart, textEnd));
    if (textEnd < payload.length) out.metadata = JSON.parse(decoder.decode(payload.subarray(textEnd)));
    return out;
  } catch (err) {
    throw new FormatError('payload text or metadata is not valid UTF-8 / JSON', { cause: err });
  }
}
