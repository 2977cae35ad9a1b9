/**
 * `npm start`: vecseal's main job end to end on the embedded defaults. Seals 10,000 real GloVe
 * embeddings (demo/data) with their words for two tenants into an embedded PGlite database, shows
 * the table holds only ciphertext, searches after decryption, rotates the KEK, shreds a tenant,
 * verifies the audit log and measures throughput against a WebCrypto loop. The steps are in
 * scripts/start/run.ts; this file parses the command line and turns any failure into one line.
 */
import { HELP, parseArgs } from './start/cli.js';
import { describeError } from './start/fail.js';
import { runStart } from './start/run.js';

async function main(): Promise<number> {
  let options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`npm start: ${describeError(err)}`);
    return 2;
  }
  if (options.help) {
    console.log(HELP);
    return 0;
  }
  try {
    await runStart(options);
    return 0;
  } catch (err) {
    if (options.debug && err instanceof Error) console.error(err.stack);
    console.error(`\nnpm start failed: ${describeError(err)}${options.debug ? '' : '\n(run with --debug for the stack)'}`);
    return 1;
  }
}

// Workers and database handles are closed by runStart; exit explicitly so a stray handle cannot hang the run.
main().then((code) => process.exit(code));
