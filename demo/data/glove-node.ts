/**
 * Node reader of the GloVe fixture: reads the committed files next to this module, checks them
 * against their manifest and parses them with the portable parser (glove.ts).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GLOVE_FILES, parseGlove, verifyGlove, type GloveFixture, type GloveManifest } from './glove.js';

/** demo/data, where the fixture is committed. */
export const GLOVE_DIR = fileURLToPath(new URL('.', import.meta.url));

/**
 * @param dir the folder holding the three fixture files (default: demo/data)
 * @returns the parsed fixture and its manifest
 * @throws Error if a file is missing, or differs from the manifest
 */
export async function readGloveFixture(dir = GLOVE_DIR): Promise<{ fixture: GloveFixture; manifest: GloveManifest }> {
  const read = async (name: string): Promise<Uint8Array> => {
    try {
      return new Uint8Array(await readFile(join(dir, name)));
    } catch (err) {
      throw new Error(`cannot read the GloVe fixture file ${join(dir, name)} (${(err as NodeJS.ErrnoException).code ?? 'error'}): restore it from git or regenerate it (demo/data/README.md)`);
    }
  };
  const [manifestBytes, vectorBytes, wordsBytes] = await Promise.all([read(GLOVE_FILES.manifest), read(GLOVE_FILES.vectors), read(GLOVE_FILES.words)]);
  const manifest = JSON.parse(new TextDecoder().decode(manifestBytes)) as GloveManifest;
  await verifyGlove(manifest, vectorBytes, wordsBytes);
  const fixture = parseGlove(vectorBytes, wordsBytes, manifest.dimension);
  if (fixture.words.length !== manifest.count) throw new Error(`the fixture has ${fixture.words.length} words; its manifest says ${manifest.count}`);
  return { fixture, manifest };
}
