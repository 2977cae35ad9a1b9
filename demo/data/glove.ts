/**
 * The GloVe fixture (demo/data/README.md): 10,000 English words and their 100-d GloVe vectors,
 * parsed from the committed bytes. Portable on purpose: no Node API, so the browser demo fetches the
 * same files and uses this parser; glove-node.ts is the Node convenience reader.
 *
 * Files (names in GLOVE_FILES):
 *   glove-100d-10k.f32        count x dimension float32, little-endian, row-major; row i is words[i]
 *   glove-100d-10k.words.txt  one word per line (UTF-8, '\n', a final newline), most frequent first
 *   glove-100d-10k.json       the manifest: count, dimension, byte sizes and SHA-256 of both files
 */

export const GLOVE_FILES = {
  vectors: 'glove-100d-10k.f32',
  words: 'glove-100d-10k.words.txt',
  manifest: 'glove-100d-10k.json',
} as const;

export const GLOVE_MANIFEST_FORMAT = 'vecseal-glove-fixture/v1';

export interface GloveFileInfo {
  name: string;
  bytes: number;
  /** Lower-case hex SHA-256 of the file. */
  sha256: string;
}

/** What scripts/make-glove-fixture.ts writes beside the data. */
export interface GloveManifest {
  format: typeof GLOVE_MANIFEST_FORMAT;
  count: number;
  dimension: number;
  dtype: 'float32';
  byteOrder: 'little-endian';
  files: { vectors: GloveFileInfo; words: GloveFileInfo };
  /** Where the data came from and how it was selected (free text and versions). */
  source: Record<string, string>;
}

export interface GloveFixture {
  /** Most frequent first (GloVe's own order). */
  words: readonly string[];
  dimension: number;
  /** words.length x dimension, row-major: one packed matrix, as the SDK's batch calls take it. */
  vectors: Float32Array;
  /** Row i as a view on `vectors` (no copy). */
  row(i: number): Float32Array;
  /** Index of a word, or -1. */
  indexOf(word: string): number;
}

const FLOAT32_BYTES = 4;

/**
 * Parses the fixture from the bytes of its two data files.
 * @param vectorBytes the .f32 file
 * @param words the .words.txt file, as text or bytes
 * @param dimension elements per vector (100)
 * @throws Error when the sizes disagree, a word is empty or repeated
 */
export function parseGlove(vectorBytes: Uint8Array, words: string | Uint8Array, dimension = 100): GloveFixture {
  if (!Number.isInteger(dimension) || dimension < 1) throw new Error(`dimension must be a positive integer; got ${String(dimension)}`);
  const text = typeof words === 'string' ? words : new TextDecoder('utf-8', { fatal: true }).decode(words);
  if (!text.endsWith('\n')) throw new Error('the words file must end with a newline (is it truncated?)');
  const list = text.slice(0, -1).split('\n');
  const rowBytes = dimension * FLOAT32_BYTES;
  if (vectorBytes.length !== list.length * rowBytes) {
    throw new Error(`the vectors file has ${vectorBytes.length} bytes; ${list.length} words of ${dimension} float32 need ${list.length * rowBytes}`);
  }
  const index = new Map<string, number>();
  list.forEach((w, i) => {
    if (w === '') throw new Error(`word ${i + 1} of the words file is empty`);
    if (index.has(w)) throw new Error(`the word on line ${i + 1} repeats line ${index.get(w)! + 1}`);
    index.set(w, i);
  });
  // DataView reads little-endian on any host; the copy also gives the matrix its own aligned buffer.
  const view = new DataView(vectorBytes.buffer, vectorBytes.byteOffset, vectorBytes.byteLength);
  const vectors = new Float32Array(list.length * dimension);
  for (let i = 0; i < vectors.length; i++) vectors[i] = view.getFloat32(i * FLOAT32_BYTES, true);
  return {
    words: list,
    dimension,
    vectors,
    row: (i) => {
      if (!Number.isInteger(i) || i < 0 || i >= list.length) throw new Error(`no row ${i} in a fixture of ${list.length} words`);
      return vectors.subarray(i * dimension, (i + 1) * dimension);
    },
    indexOf: (word) => index.get(word) ?? -1,
  };
}

/**
 * Checks the files against the manifest (sizes and SHA-256, through WebCrypto).
 * @throws Error naming the file that differs and how to get the right one
 */
export async function verifyGlove(manifest: GloveManifest, vectorBytes: Uint8Array, wordsBytes: Uint8Array): Promise<void> {
  if (manifest?.format !== GLOVE_MANIFEST_FORMAT) throw new Error(`the fixture manifest is not ${GLOVE_MANIFEST_FORMAT}`);
  for (const [info, bytes] of [[manifest.files.vectors, vectorBytes], [manifest.files.words, wordsBytes]] as const) {
    const digest = await sha256Hex(bytes);
    if (bytes.length !== info.bytes || digest !== info.sha256) {
      throw new Error(`${info.name} differs from its manifest (${bytes.length} bytes, SHA-256 ${digest.slice(0, 16)}…; expected ${info.bytes} bytes, ${info.sha256.slice(0, 16)}…): restore it from git or regenerate it (demo/data/README.md)`);
    }
  }
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new Uint8Array(bytes)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** One hit of a nearest-neighbour search. */
export interface Neighbour {
  index: number;
  /** Cosine similarity, -1..1. */
  similarity: number;
}

/**
 * Exact cosine k-nearest neighbours by brute force over a packed matrix: the plaintext baseline the
 * demo compares database answers with.
 * @param exclude row indexes to leave out (the words of an analogy query)
 */
export function cosineNearest(vectors: Float32Array, dimension: number, query: Float32Array, k: number, exclude: ReadonlySet<number> = new Set()): Neighbour[] {
  const rows = vectors.length / dimension;
  const qn = Math.hypot(...query);
  const hits: Neighbour[] = [];
  for (let r = 0; r < rows; r++) {
    if (exclude.has(r)) continue;
    let dot = 0;
    let nn = 0;
    const base = r * dimension;
    for (let j = 0; j < dimension; j++) {
      const x = vectors[base + j]!;
      dot += x * query[j]!;
      nn += x * x;
    }
    hits.push({ index: r, similarity: dot / (Math.sqrt(nn) * qn) });
  }
  return hits.sort((a, b) => b.similarity - a.similarity).slice(0, k);
}

/** a - b + c, element-wise: the vector of an analogy "b is to a as c is to ?". */
export function analogy(a: Float32Array, b: Float32Array, c: Float32Array): Float32Array {
  const out = new Float32Array(a.length);
  for (let j = 0; j < a.length; j++) out[j] = a[j]! - b[j]! + c[j]!;
  return out;
}
