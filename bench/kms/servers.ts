/**
 * Child process of `npm run bench:kms` (started by counterparts.ts with `node --import tsx`): runs the
 * local protocol servers of test/kms/servers (AWS KMS, Cloud KMS, Key Vault, Managed HSM, Vault
 * Transit) on 127.0.0.1, prints one JSON line with their URLs and test credentials, and stops when
 * its stdin closes. In a process of their own, the servers' request handling (JSON, SigV4
 * verification, AES-GCM and RSA) runs on the other core instead of on the benchmark's event loop,
 * so the client is timed as it would be against a remote service.
 */
import { randomBytes } from 'node:crypto';
import { startAwsKmsServer } from '../../test/kms/servers/aws-kms.server.js';
import { startAzureKeyVaultServer } from '../../test/kms/servers/azure-key-vault.server.js';
import { startGcpKmsServer } from '../../test/kms/servers/gcp-kms.server.js';
import { startVaultTransitServer } from '../../test/kms/servers/vault-transit.server.js';

/** What the parent reads from the first stdout line. Test credentials of throwaway local servers. */
export interface LocalServerInfo {
  aws: { url: string; region: string; accessKeyId: string; secretAccessKey: string };
  gcp: { url: string; accessToken: string };
  azure: { vaultUrl: string; managedHsmUrl: string; token: string };
  vault: { url: string; token: string };
}

async function main(): Promise<void> {
  const closers: (() => Promise<void>)[] = [];
  const stop = async (code: number): Promise<never> => {
    await Promise.allSettled(closers.map((close) => close()));
    process.exit(code);
  };
  // The parent ended (or is done with us): stop even if it died without saying so.
  process.stdin.on('end', () => void stop(0));
  process.stdin.on('error', () => void stop(0));
  process.stdin.resume();
  try {
    const aws = await startAwsKmsServer();
    closers.push(() => aws.close());
    const gcp = await startGcpKmsServer();
    closers.push(() => gcp.close());
    const azureToken = `kv-bench-${randomBytes(24).toString('base64url')}`;
    const vault = await startAzureKeyVaultServer({ flavour: 'vault', token: azureToken });
    closers.push(() => vault.close());
    const hsm = await startAzureKeyVaultServer({ flavour: 'managed-hsm', token: azureToken });
    closers.push(() => hsm.close());
    const transit = await startVaultTransitServer();
    closers.push(() => transit.close());
    const info: LocalServerInfo = {
      aws: { url: aws.url, region: aws.region, accessKeyId: aws.accessKeyId, secretAccessKey: aws.secretAccessKey },
      gcp: { url: gcp.url, accessToken: gcp.accessToken },
      azure: { vaultUrl: vault.url, managedHsmUrl: hsm.url, token: azureToken },
      vault: { url: transit.url, token: transit.token },
    };
    process.stdout.write(`${JSON.stringify(info)}\n`);
  } catch (err) {
    console.error(`bench/kms/servers.ts: could not start the local servers: ${err instanceof Error ? err.message : String(err)}`);
    await stop(1);
  }
}

void main();
