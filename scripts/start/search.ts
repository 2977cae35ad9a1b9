/**
 * Nearest-neighbour search after decryption: an in-memory PGlite (nothing on disk) with the
 * pgvector extension. The decrypted vectors go in by one binary COPY (pgvector's binary form:
 * int16 dimension, int16 zero, float4 big-endian each; text COPY parses floats some 20x slower in
 * WebAssembly), and queries are exact cosine scans (`<=>`, no approximate index: 10,000 rows take
 * milliseconds, and the answers can be checked against a plain-JS scan).
 */
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';

export interface Hit {
  word: string;
  similarity: number;
}

export interface SearchIndex {
  load(words: readonly string[], vectors: readonly Float32Array[]): Promise<void>;
  nearest(query: Float32Array, k: number, exclude: readonly string[]): Promise<Hit[]>;
  close(): Promise<void>;
}

const COPY_SIGNATURE = [0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00]; // "PGCOPY\n\377\r\n\0"

/** A binary COPY stream of (word text, embedding vector) rows. */
function copyBinary(words: readonly string[], vectors: readonly Float32Array[], dimension: number): Blob {
  const encoder = new TextEncoder();
  const parts: Uint8Array<ArrayBuffer>[] = [];
  const header = new Uint8Array(19); // signature, int32 flags 0, int32 header extension length 0
  header.set(COPY_SIGNATURE);
  parts.push(header);
  words.forEach((word, i) => {
    const text = encoder.encode(word);
    const row = new DataView(new ArrayBuffer(2 + 4 + text.length + 4 + 4 + dimension * 4));
    let o = 0;
    row.setInt16(o, 2);
    o += 2;
    row.setInt32(o, text.length);
    o += 4;
    new Uint8Array(row.buffer).set(text, o);
    o += text.length;
    row.setInt32(o, 4 + dimension * 4);
    o += 4;
    row.setInt16(o, dimension);
    row.setInt16(o + 2, 0);
    o += 4;
    for (const x of vectors[i]!) {
      row.setFloat32(o, x);
      o += 4;
    }
    parts.push(new Uint8Array(row.buffer));
  });
  parts.push(new Uint8Array([0xff, 0xff])); // file trailer: field count -1
  const blob = new Blob(parts);
  for (const p of parts) p.fill(0); // plaintext vectors: wipe our copies
  return blob;
}

/** Starts the in-memory database (it takes a few seconds of initdb: start it early). */
export async function openSearchIndex(dimension: number): Promise<SearchIndex> {
  const db = await PGlite.create({ extensions: { vector } });
  await db.exec(`CREATE EXTENSION IF NOT EXISTS vector; CREATE TABLE words (word text NOT NULL, embedding vector(${dimension}) NOT NULL);`);
  return {
    async load(words, vectors) {
      await db.query(`COPY words FROM '/dev/blob' WITH (FORMAT binary)`, [], { blob: copyBinary(words, vectors, dimension) });
    },
    async nearest(query, k, exclude) {
      const rows = await db.query<{ word: string; similarity: number }>(
        'SELECT word, 1 - (embedding <=> $1::vector) AS similarity FROM words WHERE word <> ALL($2::text[]) ORDER BY embedding <=> $1::vector LIMIT $3',
        [`[${Array.from(query, String).join(',')}]`, exclude, k],
      );
      return rows.rows;
    },
    close: () => db.close(),
  };
}
