/**
 * The stream workload in a fresh Node process (started by node.ts), so its memory baseline is not
 * the 100,000-record workloads' hundreds of megabytes that the parent process ran before: a fresh
 * default client, a warm-up stream, then the measured stream with RSS sampled by a worker thread.
 * Prints progress lines, then one line `STREAM_RESULT_MARK` + JSON of the StreamResult.
 */
import { createClient, WebCryptoKeyProvider } from '../../src/index.js';
import { rssProbe, STREAM_RESULT_MARK } from './node-memory.js';
import { runStream } from './stream.js';
import { E2E_PRESETS, isPresetName } from './workloads.js';

async function main(): Promise<void> {
  const name = process.argv[2] ?? 'full';
  if (!isPresetName(name)) throw new Error(`unknown preset ${name}`);
  const probe = rssProbe();
  const client = await createClient({ provider: await WebCryptoKeyProvider.generate() });
  try {
    const result = await runStream(
      {
        client,
        probe,
        memoryNote: null,
        now: () => performance.now(),
        yieldToHost: () => new Promise((resolve) => setImmediate(resolve)),
        log: (line) => console.log(line),
      },
      E2E_PRESETS[name],
    );
    console.log(`${STREAM_RESULT_MARK}${JSON.stringify(result)}`);
  } finally {
    await client.close();
    await probe.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
