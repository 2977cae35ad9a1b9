import { segment, type ByteList, type PackedBytes } from '../core/index.js';

/** Item i of a list given as arrays or packed. */
export function itemAt(list: ByteList, i: number): Uint8Array {
  return Array.isArray(list) ? (list as readonly Uint8Array[])[i]! : segment(list as PackedBytes, i);
}
