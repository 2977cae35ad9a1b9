/**
 * Opens a vecseal record with WebCrypto alone, written from FORMAT.md (sections 1-3 and 6) and
 * sharing no code with src/: the benchmark's proof that what it times is real, context-bound
 * AES-256-GCM under an HKDF-SHA256 batch key, not just bytes that vecseal's own decoder accepts.
 */

const encoder = new TextEncoder();
const DTYPE_CODE = { float32: 1, uint8: 4 } as const;
const FIXED_HEADER_BYTES = 30;
const TAG_BYTES = 16;

export interface IndependentContext {
  dekId: string;
  collection: string;
  tenant: string;
  recordId: string;
  dtype: keyof typeof DTYPE_CODE;
  dimension: number;
}

function field(tag: number, value: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + value.length);
  out[0] = tag;
  new DataView(out.buffer).setUint32(1, value.length, false);
  out.set(value, 5);
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function u32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, false);
  return out;
}

/** FORMAT.md section 2: tag || u32 length || value, tags 1..6 in order (no model id, no caller fields). */
export function encodeContextIndependently(c: IndependentContext): Uint8Array<ArrayBuffer> {
  return concat([
    field(1, encoder.encode(c.dekId)),
    field(2, encoder.encode(c.collection)),
    field(3, encoder.encode(c.tenant)),
    field(4, encoder.encode(c.recordId)),
    field(5, new Uint8Array([DTYPE_CODE[c.dtype]])),
    field(6, u32(c.dimension)),
  ]);
}

/**
 * @returns the payload of `record`
 * @throws Error when the record is malformed, its commitment differs or its tag does not verify
 */
export async function openIndependently(subtle: SubtleCrypto, dek: Uint8Array<ArrayBuffer>, context: IndependentContext, record: Uint8Array): Promise<Uint8Array> {
  if (record[0] !== 1) throw new Error(`independent decoder: version ${record[0]}, expected 1`);
  const suite = record[1]!;
  const commitmentBytes = suite === 1 ? 16 : suite === 2 ? 32 : -1;
  if (commitmentBytes < 0) throw new Error(`independent decoder: unknown suite ${suite}`);
  const headerBytes = FIXED_HEADER_BYTES + commitmentBytes;
  if (record.length < headerBytes + TAG_BYTES) throw new Error('independent decoder: record too short');
  const header = record.slice(0, headerBytes);
  const keyId = header.subarray(2, 6);
  const keyVersion = header.subarray(6, 10);
  const salt = header.slice(10, 26);
  const index = header.subarray(26, 30);
  const commitment = header.subarray(30, headerBytes);
  const expectedKeyId = new Uint8Array(await subtle.digest('SHA-256', encoder.encode(context.dekId))).subarray(0, 4);
  if (!equalBytes(keyId, expectedKeyId)) throw new Error('independent decoder: key id differs from SHA-256(DEK id)[0..4)');

  const info = concat([encoder.encode('vecseal/v1'), new Uint8Array([suite]), keyId, keyVersion]);
  const ikm = await subtle.importKey('raw', dek, 'HKDF', false, ['deriveBits']);
  const okm = new Uint8Array(await subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt, info }, ikm, 8 * (32 + commitmentBytes)));
  if (!equalBytes(okm.subarray(32), commitment)) throw new Error('independent decoder: key commitment differs');
  const key = await subtle.importKey('raw', okm.slice(0, 32), 'AES-GCM', false, ['decrypt']);
  const iv = concat([new Uint8Array(8), index]);
  const aad = concat([header, encodeContextIndependently(context)]);
  const body = record.slice(headerBytes);
  return new Uint8Array(await subtle.decrypt({ name: 'AES-GCM', iv, additionalData: aad, tagLength: 128 }, key, body));
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
