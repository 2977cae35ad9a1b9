/**
 * The batch engine's key handling: DEKs reach workers by handle, the main thread's copy is gone
 * after the hand-over (transferred, so detached, or wiped), eviction and close wipe them, and the
 * job runner zeroes its DEKs. Runs in Node and the three browsers.
 */
import { describe, expect, it } from 'vitest';
import { Engine, splitByBytes } from '../../src/worker/engine.js';
import { JobRunner } from '../../src/worker/jobs.js';
import { Rng } from '../_assert.js';

const context = { dekId: 'dek/t/c', collection: 'c', tenant: 't', dtype: 'uint8' as const, dimension: 100 };

describe('batch engine', () => {
  for (const workers of [0, 2]) {
    it(`hands a DEK over without keeping it (workers ${workers}) and evicts it`, async () => {
      const rng = new Rng(7 + workers);
      const engine = await Engine.create({ workers });
      try {
        const given: Uint8Array[] = [];
        const handle = engine.registerKey({ dekId: context.dekId, keyVersion: 1 }, async () => {
          const dek = rng.bytes(32);
          given.push(dek);
          return dek;
        });
        const payloads = Array.from({ length: 3000 }, () => rng.bytes(100));
        const ids = payloads.map((_, i) => `r${i}`);
        const records = await engine.seal(handle, context, ids, payloads);
        expect(records.length).toBe(3000);
        // One DEK fetch for the batch, however many runners needed it, and wiped once handed over.
        expect(given.length).toBe(1);
        expect(given[0]!.every((b) => b === 0)).toBe(true);
        // Every runner got the same key (this source would draw a new one if asked again).
        const opened = await engine.open(handle, context, ids, records);
        expect(given.length).toBe(1);
        expect(opened.errors.every((e) => e === undefined)).toBe(true);
        expect(Array.from(opened.payloads[2999]!)).toEqual(Array.from(payloads[2999]!));
        await engine.evictKey(handle);
        await expect(engine.seal(handle, context, ids, payloads)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
      } finally {
        await engine.close();
      }
      await expect(engine.seal(1, context, [], [])).rejects.toMatchObject({ code: 'CLOSED' });
    });
  }

  it('a source that fails makes the batch fail with its error, and the engine keeps working', async () => {
    const engine = await Engine.create({ workers: 1 });
    try {
      const bad = engine.registerKey({ dekId: context.dekId, keyVersion: 1 }, async () => {
        throw Object.assign(new Error('KMS unreachable'), { code: 'PROVIDER_ERROR' });
      });
      await expect(engine.seal(bad, context, ['a'], [new Uint8Array(100)])).rejects.toThrow('KMS unreachable');
      const dek = new Rng(1).bytes(32);
      const good = engine.registerKey({ dekId: context.dekId, keyVersion: 1 }, async () => dek.slice());
      const [rec] = await engine.seal(good, context, ['a'], [new Uint8Array(100)]);
      const opened = await engine.open(good, context, ['a'], [rec!]);
      expect(opened.errors[0]).toBeUndefined();
    } finally {
      await engine.close();
    }
  });

  it('the job runner wipes DEKs on eviction and on close', () => {
    const runner = new JobRunner('wasm');
    const a = new Rng(2).bytes(32);
    const b = new Rng(3).bytes(32);
    runner.installKey({ handle: 1, dekId: 'x', keyVersion: 1, dek: a });
    runner.installKey({ handle: 2, dekId: 'y', keyVersion: 1, dek: b });
    runner.evictKey(1);
    expect(a.every((x) => x === 0)).toBe(true);
    expect(b.some((x) => x !== 0)).toBe(true);
    expect(runner.hasKey(1)).toBe(false);
    runner.close();
    expect(b.every((x) => x === 0)).toBe(true);
    expect(runner.hasKey(2)).toBe(false);
    expect(() => runner.installKey({ handle: 3, dekId: 'z', keyVersion: 1, dek: new Uint8Array(16) })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
  });

  it('splits by bytes into bounded chunks that cover every record once, in order', () => {
    const sizes = [0, 10, 300_000, 5, 5_000_000, 1, 1];
    const items = sizes.map((n) => new Uint8Array(n));
    const chunks = splitByBytes(items, 2);
    expect(chunks[0]![0]).toBe(0);
    expect(chunks.at(-1)![1]).toBe(items.length);
    for (let i = 1; i < chunks.length; i++) expect(chunks[i]![0]).toBe(chunks[i - 1]![1]);
    const many = Array.from({ length: 100_000 }, () => new Uint8Array(256));
    const manyChunks = splitByBytes(many, 1);
    expect(manyChunks.length).toBeGreaterThan(4);
    for (const [from, to] of manyChunks) expect(to - from).toBeLessThanOrEqual(16_384);
    expect(splitByBytes([], 4)).toEqual([]);
  });
});
