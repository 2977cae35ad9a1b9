/**
 * Runs the portable core suite on the calling thread: in Node and on the page of each browser.
 */
import { beforeAll, describe, it } from 'vitest';
import { loadCore, type Core } from '../../src/core/index.js';
import { coreCases } from './_suite.js';

describe('vecseal/core', () => {
  let core: Core;
  beforeAll(async () => {
    core = await loadCore();
  });
  for (const c of coreCases) {
    it(c.name, async () => {
      await c.run(core);
    });
  }
});
