/**
 * Where the demo's embeddings come from: the bundled GloVe fixture (fetched, checked against its
 * manifest, parsed by the same portable parser `npm start` uses), or text a user pastes or uploads
 * in GloVe's own text form (`word v1 v2 ... vn` a line) or as JSON (`[{ "text": ..., "vector": [...] }]`
 * or `{ "word": [...] }`).
 */
import vectorsUrl from '../data/glove-100d-10k.f32?url';
import wordsUrl from '../data/glove-100d-10k.words.txt?url';
import manifestUrl from '../data/glove-100d-10k.json?url';
import { parseGlove, verifyGlove, type GloveManifest } from '../data/glove.js';

/** A set of embeddings and the text each one stands for, as the demo seals them. */
export interface Embeddings {
  /** Where they came from, for the page. */
  source: string;
  /** Bound into every sealed record: rows of one model never open as another's. */
  modelId: string;
  texts: string[];
  dimension: number;
  /** texts.length x dimension, row-major. */
  vectors: Float32Array;
}

export const GLOVE_MODEL_ID = 'glove-6b-100d';
export const USER_MODEL_ID = 'user-embeddings';

/** Most vectors a pasted or uploaded set may hold (the page keeps them all in memory). */
export const MAX_USER_VECTORS = 200_000;
const MAX_DIMENSION = 8192;

async function fetchBytes(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`cannot load ${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** The bundled GloVe 6B 100-d subset: 10,000 words (demo/data/README.md). */
export async function loadBundledGlove(): Promise<Embeddings> {
  const [manifestBytes, vectorBytes, wordBytes] = await Promise.all([fetchBytes(manifestUrl), fetchBytes(vectorsUrl), fetchBytes(wordsUrl)]);
  const manifest = JSON.parse(new TextDecoder().decode(manifestBytes)) as GloveManifest;
  await verifyGlove(manifest, vectorBytes, wordBytes);
  const fixture = parseGlove(vectorBytes, wordBytes, manifest.dimension);
  return { source: `GloVe 6B ${fixture.dimension}-d, ${fixture.words.length.toLocaleString('en')} most frequent words (PDDL)`, modelId: GLOVE_MODEL_ID, texts: [...fixture.words], dimension: fixture.dimension, vectors: fixture.vectors };
}

/**
 * Parses embeddings a user pasted or uploaded.
 * @throws Error naming the line or item that is wrong (never echoing more than its position)
 */
export function parseUserEmbeddings(input: string, source = 'pasted'): Embeddings {
  const text = input.trim();
  if (text === '') throw new Error('nothing to read: paste GloVe text lines ("word 0.1 0.2 ...") or JSON');
  const pairs = text.startsWith('[') || text.startsWith('{') ? fromJson(text) : fromGloveText(text);
  if (pairs.length === 0) throw new Error('no embeddings found');
  if (pairs.length > MAX_USER_VECTORS) throw new Error(`at most ${MAX_USER_VECTORS.toLocaleString('en')} embeddings; got ${pairs.length.toLocaleString('en')}`);
  const dimension = pairs[0]![1].length;
  if (dimension < 1 || dimension > MAX_DIMENSION) throw new Error(`a vector needs 1 to ${MAX_DIMENSION} numbers; the first has ${dimension}`);
  const vectors = new Float32Array(pairs.length * dimension);
  const seen = new Set<string>();
  pairs.forEach(([label, values], i) => {
    if (values.length !== dimension) throw new Error(`embedding ${i + 1} has ${values.length} numbers; the first has ${dimension}`);
    if (seen.has(label)) throw new Error(`embedding ${i + 1} repeats an earlier text`);
    seen.add(label);
    for (let j = 0; j < dimension; j++) {
      const x = values[j]!;
      if (!Number.isFinite(x)) throw new Error(`embedding ${i + 1}, number ${j + 1} is not a finite number`);
      vectors[i * dimension + j] = x;
    }
  });
  return { source, modelId: USER_MODEL_ID, texts: pairs.map(([label]) => label), dimension, vectors };
}

function fromGloveText(text: string): [string, number[]][] {
  return text.split(/\r?\n/).flatMap((line, i): [string, number[]][] => {
    const parts = line.trim().split(/\s+/);
    if (parts.length === 1 && parts[0] === '') return [];
    if (parts.length < 2) throw new Error(`line ${i + 1}: expected a word and its numbers`);
    const values = parts.slice(1).map(Number);
    if (values.some((v) => !Number.isFinite(v))) throw new Error(`line ${i + 1}: every value after the word must be a number`);
    return [[parts[0]!, values]];
  });
}

function fromJson(text: string): [string, number[]][] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new Error('the input starts like JSON but does not parse as JSON');
  }
  const asNumbers = (v: unknown, where: string): number[] => {
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'number')) throw new Error(`${where}: the vector must be an array of numbers`);
    return v as number[];
  };
  if (Array.isArray(data)) {
    return data.map((item, i) => {
      const o = item as { text?: unknown; word?: unknown; id?: unknown; vector?: unknown; embedding?: unknown };
      const label = o?.text ?? o?.word ?? o?.id;
      if (typeof label !== 'string' || label === '') throw new Error(`item ${i + 1}: needs a "text" (or "word") string`);
      return [label, asNumbers(o.vector ?? o.embedding, `item ${i + 1}`)];
    });
  }
  return Object.entries(data as Record<string, unknown>).map(([label, v], i) => [label, asNumbers(v, `entry ${i + 1}`)]);
}
