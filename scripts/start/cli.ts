/** The command line of `npm start`: options, their defaults from the environment, and --help. */
import { StartError } from './fail.js';

export type ProviderName = 'webcrypto' | 'pkcs11';

export interface Pkcs11Settings {
  modulePath: string;
  tokenLabel: string | undefined;
}

export interface StartOptions {
  /** The data folder, as given (resolved by the caller). */
  data: string;
  /** A PostgreSQL connection string; undefined: the embedded PGlite database in the data folder. */
  pg: string | undefined;
  provider: ProviderName;
  pkcs11: Pkcs11Settings;
  debug: boolean;
  help: boolean;
}

export const DEFAULT_DATA = '.vecseal-data';
export const DEFAULT_PKCS11_MODULE = '/usr/lib/softhsm/libsofthsm2.so';
export const PIN_ENV = 'VECSEAL_PKCS11_PIN';

export const HELP = `Usage: npm start -- [options]      (or: npx tsx scripts/start.ts [options])

Seals 10,000 GloVe word embeddings (demo/data) with their words for two tenants into an embedded
PostgreSQL database (PGlite), shows that the table holds only ciphertext, answers nearest-neighbour
queries after decryption (pgvector), rotates the KEK, crypto-shreds tenant 'globex' with a signed
receipt, verifies the signed audit log and measures throughput against a plain WebCrypto loop.
Everything is kept in the data folder: later runs reuse the KEK, the key store and the table.

Options:
  --data <dir>             data folder (default ${DEFAULT_DATA}): KEK, key store, audit signer, PGlite
  --pg <connection>        keep the sealed rows in a PostgreSQL server instead of PGlite,
                           e.g. postgres://user@127.0.0.1:5432/postgres (the search index stays in an
                           in-memory PGlite with pgvector)
  --provider <name>        webcrypto (default): an AES-256 KEK in a key file of the data folder,
                           imported non-extractable into WebCrypto; or pkcs11: the KEK is generated
                           inside a PKCS#11 token (SoftHSM2 or an HSM) and never leaves it
  --pkcs11-module <path>   PKCS#11 module (default $VECSEAL_PKCS11_MODULE, else ${DEFAULT_PKCS11_MODULE})
  --pkcs11-token <label>   token label (default $VECSEAL_PKCS11_TOKEN); the user PIN is read from
                           $${PIN_ENV} (never from the command line); SoftHSM2 finds its tokens
                           through $SOFTHSM2_CONF
  --debug                  print the stack of a failure
  -h, --help               this text

Exit status 0 when every step and check passed; otherwise one line on stderr and status 1.
Delete the data folder to start over.`;

const WITH_VALUE = new Set(['--data', '--pg', '--provider', '--pkcs11-module', '--pkcs11-token']);

/**
 * @param argv the arguments after the script name
 * @param env where the PKCS#11 defaults come from
 * @throws StartError for an unknown option, a missing value or an unknown provider
 */
export function parseArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): StartOptions {
  const values = new Map<string, string>();
  let debug = false;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help') help = true;
    else if (arg === '--debug') debug = true;
    else {
      const eq = arg.indexOf('=');
      const name = eq > 0 ? arg.slice(0, eq) : arg;
      if (!WITH_VALUE.has(name)) throw new StartError(`unknown option ${JSON.stringify(arg)} (see --help)`);
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || value === '' || (eq < 0 && value.startsWith('--'))) throw new StartError(`${name} needs a value (see --help)`);
      values.set(name, value);
    }
  }
  const provider = values.get('--provider') ?? 'webcrypto';
  if (provider !== 'webcrypto' && provider !== 'pkcs11') throw new StartError(`--provider must be webcrypto or pkcs11; got ${JSON.stringify(provider)}`);
  return {
    data: values.get('--data') ?? DEFAULT_DATA,
    pg: values.get('--pg'),
    provider,
    pkcs11: {
      modulePath: values.get('--pkcs11-module') ?? env.VECSEAL_PKCS11_MODULE ?? DEFAULT_PKCS11_MODULE,
      tokenLabel: values.get('--pkcs11-token') ?? env.VECSEAL_PKCS11_TOKEN,
    },
    debug,
    help,
  };
}
