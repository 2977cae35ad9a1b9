/**
 * Portable (no Node API): `npm start` and the browser demo both scan what they stored with it.
 * Looks for plaintext in stored bytes: words (as UTF-8) and vectors (as the float32 bytes a naive
 * app would store). Words shorter than MIN_WORD_LETTERS are not looked for: in megabytes of random
 * ciphertext a given 4-letter string turns up by chance about once per 4 MB, a 6-letter one once per
 * 280 TB. A vector counts as found when its first VECTOR_PROBE_BYTES appear anywhere.
 */
export const MIN_WORD_LETTERS = 6;
const VECTOR_PROBE_BYTES = 16;

export interface LeakReport {
  bytes: number;
  wordsChecked: number;
  vectorsChecked: number;
  foundWords: string[];
  foundVectors: number;
}

const A = 0x61;
const Z = 0x7a;

/**
 * @param blobs the stored bytes (each scanned on its own)
 * @param words candidate words (only those of MIN_WORD_LETTERS or more lower-case letters are used)
 * @param vectors candidate vectors (row i of a packed matrix of `dimension` float32)
 */
export function scanForLeaks(blobs: readonly Uint8Array[], words: readonly string[], vectors: readonly Float32Array[]): LeakReport {
  const candidates = new Set(words.filter((w) => w.length >= MIN_WORD_LETTERS && /^[a-z]+$/.test(w)));
  const longest = Math.max(0, ...[...candidates].map((w) => w.length));
  // First 4 bytes of each vector's probe -> the probes starting so; the rest is compared on a hit.
  const probes = new Map<number, Uint8Array[]>();
  for (const v of vectors) {
    const probe = new Uint8Array(v.buffer, v.byteOffset, VECTOR_PROBE_BYTES).slice();
    const head = new DataView(probe.buffer).getUint32(0, true);
    const list = probes.get(head);
    if (list) list.push(probe);
    else probes.set(head, [probe]);
  }
  const foundWords = new Set<string>();
  let foundVectors = 0;
  let bytes = 0;
  for (const blob of blobs) {
    bytes += blob.length;
    // Words: runs of lower-case ASCII letters long enough to hold one; then every substring of them.
    let runStart = -1;
    for (let i = 0; i <= blob.length; i++) {
      const letter = i < blob.length && blob[i]! >= A && blob[i]! <= Z;
      if (letter && runStart < 0) runStart = i;
      if (!letter && runStart >= 0) {
        if (i - runStart >= MIN_WORD_LETTERS) {
          const run = String.fromCharCode(...blob.subarray(runStart, i));
          for (let s = 0; s + MIN_WORD_LETTERS <= run.length; s++) {
            for (let len = MIN_WORD_LETTERS; len <= longest && s + len <= run.length; len++) {
              const piece = run.slice(s, s + len);
              if (candidates.has(piece)) foundWords.add(piece);
            }
          }
        }
        runStart = -1;
      }
    }
    // Vectors.
    const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
    for (let i = 0; i + VECTOR_PROBE_BYTES <= blob.length; i++) {
      const list = probes.get(view.getUint32(i, true));
      if (list?.some((p) => p.every((b, j) => blob[i + j] === b))) foundVectors++;
    }
  }
  return { bytes, wordsChecked: candidates.size, vectorsChecked: vectors.length, foundWords: [...foundWords], foundVectors };
}

/** What an app without encryption would store for a record: the float32 bytes, then the word. */
export function unsealedRow(vector: Float32Array, word: string): Uint8Array {
  const text = new TextEncoder().encode(word);
  const row = new Uint8Array(vector.byteLength + text.length);
  row.set(new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength));
  row.set(text, vector.byteLength);
  return row;
}
