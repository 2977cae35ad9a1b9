import type { ByteList, PackedBytes } from '../core/index.js';

/** Packs byte strings into one buffer; a null entry becomes an empty segment. */
export function packSegments(parts: readonly (Uint8Array | null)[]): PackedBytes {
  const offsets = new Uint32Array(parts.length + 1);
  for (let i = 0; i < parts.length; i++) offsets[i + 1] = offsets[i]! + (parts[i]?.length ?? 0);
  const bytes = new Uint8Array(offsets[parts.length]!);
  parts.forEach((p, i) => {
    if (p) bytes.set(p, offsets[i]!);
  });
  return { bytes, offsets };
}

export function segmentOf(list: { bytes: Uint8Array; offsets: Uint32Array }, i: number): Uint8Array {
  return list.bytes.subarray(list.offsets[i]!, list.offsets[i + 1]!);
}

/** Item i of a list given as arrays or packed. */
export function itemAt(list: ByteList, i: number): Uint8Array {
  return Array.isArray(list) ? (list as readonly Uint8Array[])[i]! : segmentOf(list as PackedBytes, i);
}
