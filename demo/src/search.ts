/**
 * Search after decryption: the opened vectors go into one packed matrix and queries are exact
 * cosine scans (demo/data/glove.ts). A query is a word, or words joined by + and -, the classic
 * analogy form: "king - man + woman" is the vector king - man + woman.
 */
import { cosineNearest } from '../data/glove.js';

export interface OpenedSet {
  texts: string[];
  dimension: number;
  /** texts.length x dimension */
  matrix: Float32Array;
  indexOf: Map<string, number>;
}

export interface Term {
  text: string;
  sign: 1 | -1;
}

export function openedSet(rows: readonly { text: string; vector: Float32Array }[], dimension: number): OpenedSet {
  const matrix = new Float32Array(rows.length * dimension);
  rows.forEach((r, i) => matrix.set(r.vector, i * dimension));
  return { texts: rows.map((r) => r.text), dimension, matrix, indexOf: new Map(rows.map((r, i) => [r.text, i])) };
}

/** @throws Error for an empty query or a dangling operator */
export function parseQuery(query: string): Term[] {
  const tokens = query.trim().split(/\s*([+-])\s*/).filter((t) => t !== '');
  if (tokens.length === 0) throw new Error('type a word, or an analogy such as king - man + woman');
  const terms: Term[] = [];
  let sign: 1 | -1 = 1;
  let expectWord = true;
  for (const t of tokens) {
    if (t === '+' || t === '-') {
      if (expectWord && terms.length > 0) throw new Error(`two operators in a row near "${t}"`);
      sign = t === '-' ? -1 : 1;
      expectWord = true;
    } else {
      if (!expectWord) throw new Error('join words with + or -');
      terms.push({ text: t, sign });
      sign = 1;
      expectWord = false;
    }
  }
  if (expectWord) throw new Error('the query ends with an operator');
  return terms;
}

/**
 * @returns the k nearest texts to the query vector, leaving out the query's own words
 * @throws Error naming a word that is not among the opened records
 */
export function nearest(set: OpenedSet, terms: readonly Term[], k: number): { text: string; similarity: number }[] {
  const q = new Float32Array(set.dimension);
  const exclude = new Set<number>();
  for (const term of terms) {
    const i = set.indexOf.get(term.text);
    if (i === undefined) throw new Error(`"${term.text}" is not among the ${set.texts.length.toLocaleString('en')} decrypted records`);
    exclude.add(i);
    for (let j = 0; j < set.dimension; j++) q[j] = q[j]! + term.sign * set.matrix[i * set.dimension + j]!;
  }
  return cosineNearest(set.matrix, set.dimension, q, k, exclude).map((h) => ({ text: set.texts[h.index]!, similarity: h.similarity }));
}
