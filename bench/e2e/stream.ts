/**
 * The streaming workload, runtime-agnostic: 1,000,000 768-d records made lazily by an async
 * generator, sealed by `client.encryptStream` and discarded as they arrive (only their bytes are
 * counted), while a memory probe samples the process (Node: RSS) or the page (Chromium:
 * usedJSHeapSize) every ~50 ms. Sample records are kept and opened afterwards against the
 * regenerated inputs.
 */
import type { SealedRecord, VecsealClient } from '../../src/index.js';
import { equalBytes } from './independent-open.js';
import { COLLECTION, DIMENSION_768, StreamSource, TENANT, type E2ePreset } from './workloads.js';

/** Peak-memory sampling: what is measured, a reading now, and peak sampling over an interval. */
export interface MemoryProbe {
  /** e.g. 'process RSS' or 'page usedJSHeapSize'. */
  readonly kind: string;
  current(): number;
  /** Starts sampling (about every 50 ms); the returned function stops and reports the peak. */
  startPeak(): () => Promise<{ peakBytes: number; samples: number }>;
}

export interface StreamMemory {
  readonly kind: string;
  readonly baselineBytes: number;
  readonly peakBytes: number;
  readonly growthBytes: number;
  readonly samples: number;
}

export interface StreamResult {
  readonly records: number;
  readonly plaintextBytes: number;
  readonly sealedBytes: number;
  readonly seconds: number;
  readonly recordsPerSecond: number;
  /** Plaintext MB (10^6 bytes) per second. */
  readonly mbPerSecond: number;
  /** The generator alone (no sealing), records/s: how much of the stream's time is the source. */
  readonly sourceRecordsPerSecond: number;
  readonly batchSize: number;
  readonly workers: number;
  readonly backend: string;
  readonly memory: StreamMemory | null;
  /** Why memory is missing, or what it does not cover. */
  readonly memoryNote: string | null;
}

export interface StreamEnv {
  readonly client: VecsealClient;
  readonly probe: MemoryProbe | null;
  readonly memoryNote: string | null;
  now(): number;
  yieldToHost(): Promise<void>;
  log(line: string): void;
}

/** The SDK's default stream batch (client.ts); stated in the report, not passed. */
const DEFAULT_BATCH = 4096;
const SOURCE_PROBE_RECORDS = 100_000;

function sampleIndices(count: number): Set<number> {
  const out = new Set<number>([0, 1, count >> 1, count - 1]);
  for (let k = 1; k < 8; k++) out.add(Math.floor((count * k) / 8) + k);
  return new Set([...out].filter((i) => i >= 0 && i < count));
}

async function consume(client: VecsealClient, source: StreamSource, count: number, keep: Set<number>): Promise<{ sealedBytes: number; kept: Map<number, SealedRecord> }> {
  const kept = new Map<number, SealedRecord>();
  let i = 0;
  let sealedBytes = 0;
  for await (const record of client.encryptStream(source.records(0, count), { collection: COLLECTION, tenant: TENANT, dimension: DIMENSION_768 })) {
    sealedBytes += record.ciphertext.length;
    if (keep.has(i)) kept.set(i, record);
    i++;
  }
  if (i !== count) throw new Error(`cross-check failed: encryptStream yielded ${i} records for ${count}`);
  return { sealedBytes, kept };
}

async function verify(client: VecsealClient, source: StreamSource, kept: Map<number, SealedRecord>): Promise<void> {
  const indices = [...kept.keys()];
  const records = indices.map((i) => kept.get(i)!);
  const opened = await client.decryptVectors({ collection: COLLECTION, tenant: TENANT, dimension: DIMENSION_768, records });
  opened.forEach((o, k) => {
    const i = indices[k]!;
    if (o.id !== source.id(i)) throw new Error(`cross-check failed: stream record ${i} has id ${o.id}, expected ${source.id(i)} (order lost)`);
    if (!o.ok) throw new Error(`cross-check failed: stream record ${i} did not open: ${o.error.message}`);
    const want = source.vector(i);
    if (!equalBytes(new Uint8Array(o.vector.buffer), new Uint8Array(want.buffer))) throw new Error(`cross-check failed: stream record ${i} opens to other bytes`);
  });
}

/**
 * Runs the stream with `preset.streamRecords` records after a warm-up stream.
 * @throws Error when a sample record does not open to its input
 */
export async function runStream(env: StreamEnv, preset: E2ePreset): Promise<StreamResult> {
  const { client, probe } = env;
  const source = new StreamSource();
  const count = preset.streamRecords;

  // The generator alone, so its share of the stream's time is known.
  const probeCount = Math.min(count, SOURCE_PROBE_RECORDS);
  let t = env.now();
  let bytes = 0;
  for await (const r of source.records(0, probeCount)) bytes += r.vector.byteLength;
  const sourceRecordsPerSecond = probeCount / ((env.now() - t) / 1000);
  if (bytes !== probeCount * DIMENSION_768 * 4) throw new Error('stream source produced the wrong number of bytes');

  env.log(`stream warm-up: ${preset.streamWarmupRecords.toLocaleString('en-US')} records`);
  const warm = await consume(client, source, preset.streamWarmupRecords, sampleIndices(preset.streamWarmupRecords));
  await verify(client, source, warm.kept);
  await env.yieldToHost();

  const baseline = probe?.current() ?? 0;
  const stop = probe?.startPeak();
  env.log(`stream: ${count.toLocaleString('en-US')} × 768-d records through encryptStream${probe ? ` (${probe.kind} at start ${(baseline / 2 ** 20).toFixed(0)} MiB)` : ''}`);
  t = env.now();
  const run = await consume(client, source, count, sampleIndices(count));
  const seconds = (env.now() - t) / 1000;
  const peak = stop ? await stop() : null;
  await verify(client, source, run.kept);

  const plaintextBytes = count * DIMENSION_768 * 4;
  const memory: StreamMemory | null =
    probe && peak
      ? { kind: probe.kind, baselineBytes: baseline, peakBytes: Math.max(peak.peakBytes, baseline), growthBytes: Math.max(0, peak.peakBytes - baseline), samples: peak.samples }
      : null;
  const result: StreamResult = {
    records: count,
    plaintextBytes,
    sealedBytes: run.sealedBytes,
    seconds,
    recordsPerSecond: count / seconds,
    mbPerSecond: plaintextBytes / seconds / 1e6,
    sourceRecordsPerSecond,
    batchSize: DEFAULT_BATCH,
    workers: client.info.workers,
    backend: client.info.backend,
    memory,
    memoryNote: env.memoryNote,
  };
  env.log(
    `stream: ${seconds.toFixed(1)} s, ${Math.round(result.recordsPerSecond).toLocaleString('en-US')} records/s, ${result.mbPerSecond.toFixed(1)} MB/s` +
      (memory ? `, ${memory.kind} peak +${(memory.growthBytes / 2 ** 20).toFixed(0)} MiB over ${memory.samples} samples` : ''),
  );
  return result;
}
