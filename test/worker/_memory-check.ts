/**
 * Run by memory.node.test.ts in a child `node --expose-gc`: seals 30 batches of 4096 records of
 * 3 KB through the engine with one worker and prints how much external (ArrayBuffer) memory the
 * process still holds after a full GC, compared with after the first batch.
 */
import { Engine } from '../../src/worker/engine.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const engine = await Engine.create({ workers: 1 });
const context = { dekId: 'd', collection: 'c', tenant: '', dtype: 'uint8' as const, dimension: 3072 };
const dek = crypto.getRandomValues(new Uint8Array(32));
const handle = engine.registerKey({ dekId: 'd', keyVersion: 1 }, async () => dek.slice());
const payloads = Array.from({ length: 4096 }, () => new Uint8Array(3072));
const ids = payloads.map((_, i) => `r${i}`);
let first = 0;
for (let k = 0; k < 30; k++) {
  const records = await engine.seal(handle, context, ids, payloads);
  if (records.length !== 4096) throw new Error('wrong count');
  gc();
  if (k === 0) first = process.memoryUsage().external;
}
await new Promise((r) => setTimeout(r, 50));
gc();
const growth = process.memoryUsage().external - first;
await engine.close();
console.log(JSON.stringify({ growthBytes: growth, batchBytes: 4096 * (3072 + 62) }));
