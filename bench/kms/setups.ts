/**
 * The provider configurations `npm run bench:kms` measures, each with its own fresh KEK: created
 * the way the tests create them (test/kms/*.test.ts), through the services' own management calls
 * (signed CreateKey for AWS, Cloud KMS and Key Vault REST, Vault's transit/keys), in the token
 * (PKCS#11 C_GenerateKey) or on the KMIP server (Create + Activate).
 */
import { callAwsJson } from '../../src/kms/_aws-sigv4.js';
import { AwsKmsProvider } from '../../src/kms/aws-kms.js';
import { AzureKeyVaultProvider, type AzureWrapAlgorithm } from '../../src/kms/azure-key-vault.js';
import { GcpKmsProvider } from '../../src/kms/gcp-kms.js';
import { KmipProvider } from '../../src/kms/kmip.js';
import { MultiKeyProvider } from '../../src/kms/multi.js';
import { Pkcs11Provider, type Pkcs11Mechanism } from '../../src/kms/pkcs11.js';
import type { KeyProvider } from '../../src/kms/provider.js';
import { VaultTransitProvider } from '../../src/kms/vault-transit.js';
import { WebCryptoKeyProvider, type WebCryptoAlgorithm } from '../../src/kms/webcrypto.js';
import { azureKeyVaultAdmin, uniqueKeyName } from '../../test/kms/_azure-key-vault-admin.js';
import { gcpKmsAdmin } from '../../test/kms/_gcp-kms-admin.js';
import { localServers, pyKmipServer, softHsmToken } from './counterparts.js';

/** One opened configuration: its provider, and what only Vault Transit has (batch rewrap). */
export interface Opened {
  provider: KeyProvider;
  close?(): Promise<void>;
  /** Vault only: makes a new key version current, so rewrap has somewhere to go. */
  rotate?(): Promise<void>;
}

export interface Setup {
  /** Stable key for the JSON. */
  key: string;
  /** As shown in the table. */
  label: string;
  /** In this process, a local protocol server (child process), or the real thing. */
  kind: 'in-process' | 'local' | 'real';
  /** Name of the counterpart (version filled in by the report for real ones). */
  counterpart: string;
  /** generateDataKey is one service call (measured); otherwise it is a random DEK + wrap (not measured). */
  nativeDataKey?: boolean;
  /** Vault Transit: also time rewrapMany against single rewraps. */
  batchRewrap?: boolean;
  open(): Promise<Opened>;
}

const unique = (prefix: string): string => `${prefix}-${crypto.randomUUID().slice(0, 8)}`;

function webcrypto(algorithm: WebCryptoAlgorithm): Setup {
  return {
    key: `webcrypto-${algorithm.toLowerCase()}`,
    label: `webcrypto ${algorithm}`,
    kind: 'in-process',
    counterpart: 'Node WebCrypto, in process',
    open: async () => ({ provider: await WebCryptoKeyProvider.generate({ algorithm, kekId: `bench-${algorithm}` }) }),
  };
}

const awsKms: Setup = {
  key: 'aws-kms',
  label: 'aws-kms',
  kind: 'local',
  counterpart: 'local AWS KMS server (SigV4 verified, AES-256-GCM)',
  nativeDataKey: true,
  open: async () => {
    const { aws } = await localServers();
    const credentials = { accessKeyId: aws.accessKeyId, secretAccessKey: aws.secretAccessKey };
    const created = await callAwsJson({
      provider: 'bench',
      url: aws.url,
      region: aws.region,
      service: 'kms',
      target: 'TrentService.CreateKey',
      body: { Description: 'vecseal bench' },
      credentials,
      signal: AbortSignal.timeout(10_000),
    });
    if (created.status !== 200) throw new Error(`CreateKey failed: HTTP ${created.status}`);
    const keyArn = (created.json as { KeyMetadata: { Arn: string } }).KeyMetadata.Arn;
    return { provider: new AwsKmsProvider({ keyId: keyArn, region: aws.region, endpoint: aws.url, credentials }) };
  },
};

const gcpKms: Setup = {
  key: 'gcp-kms',
  label: 'gcp-kms',
  kind: 'local',
  counterpart: 'local Cloud KMS server (REST v1, CRC-32C)',
  open: async () => {
    const { gcp } = await localServers();
    const admin = gcpKmsAdmin(gcp.url, gcp.accessToken);
    const ring = await admin.createKeyRing('projects/vecseal-bench/locations/global', unique('bench'));
    const keyName = await admin.createKey(ring, 'kek');
    return { provider: new GcpKmsProvider({ keyName, endpoint: gcp.url, getAccessToken: async () => gcp.accessToken }) };
  },
};

function azure(flavour: 'vault' | 'managed-hsm'): Setup {
  const algorithm: AzureWrapAlgorithm = flavour === 'vault' ? 'RSA-OAEP-256' : 'A256KW';
  return {
    key: `azure-${flavour}-${algorithm.toLowerCase()}`,
    label: `${flavour === 'vault' ? 'azure-key-vault' : 'azure-managed-hsm'} ${algorithm}`,
    kind: 'local',
    counterpart: flavour === 'vault' ? 'local Key Vault server (RSA-2048 key)' : 'local Managed HSM server (oct-HSM 256 key)',
    open: async () => {
      const { azure: info } = await localServers();
      const url = flavour === 'vault' ? info.vaultUrl : info.managedHsmUrl;
      const name = uniqueKeyName('bench');
      await azureKeyVaultAdmin(url, info.token).createKey(name, flavour === 'vault' ? { kty: 'RSA', key_size: 2048 } : { kty: 'oct-HSM', key_size: 256 });
      return { provider: new AzureKeyVaultProvider({ keyUrl: `${url}/keys/${name}`, algorithm, getAccessToken: async () => info.token }) };
    },
  };
}

function vaultTransit(derived: boolean): Setup {
  return {
    key: `vault-transit-${derived ? 'derived' : 'associated-data'}`,
    label: `vault-transit ${derived ? 'derived' : 'associated_data'}`,
    kind: 'local',
    counterpart: 'local Vault Transit server (aes256-gcm96 key)',
    nativeDataKey: derived, // datakey takes no associated_data: associated_data mode draws the DEK here
    batchRewrap: true,
    open: async () => {
      const { vault } = await localServers();
      const name = unique(derived ? 'bench-derived' : 'bench-ad');
      const admin = async (path: string, body: unknown): Promise<void> => {
        const r = await fetch(`${vault.url}/v1/transit/keys/${path}`, { method: 'POST', headers: { 'X-Vault-Token': vault.token }, body: JSON.stringify(body) });
        await r.arrayBuffer();
        if (r.status >= 300) throw new Error(`Vault transit/keys/${path.split('/')[0]}: HTTP ${r.status}`);
      };
      await admin(name, { type: 'aes256-gcm96', derived });
      return {
        provider: new VaultTransitProvider({ address: vault.url, keyName: name, token: vault.token, derived }),
        rotate: () => admin(`${name}/rotate`, {}),
      };
    },
  };
}

function pkcs11(mechanism: Pkcs11Mechanism): Setup {
  return {
    key: `pkcs11-${mechanism === 'AES_GCM' ? 'a256gcm' : 'a256kwp'}`,
    label: `pkcs11 ${mechanism === 'AES_GCM' ? 'A256GCM' : 'A256KWP'}`,
    kind: 'real',
    counterpart: 'SoftHSM2',
    open: async () => {
      const token = await softHsmToken();
      const provider = await Pkcs11Provider.generateKek({ libraryPath: token.libraryPath, tokenLabel: token.tokenLabel, pin: token.userPin, keyLabel: unique('bench'), mechanism });
      return { provider, close: () => provider.close() };
    },
  };
}

function kmip(protocolVersion: '1.2' | '1.4'): Setup {
  const algorithm = protocolVersion === '1.4' ? 'A256GCM' : 'A256CTR+BIND';
  return {
    key: `kmip-${protocolVersion === '1.4' ? 'a256gcm' : 'a256ctr'}`,
    label: `kmip ${algorithm} (KMIP ${protocolVersion})`,
    kind: 'real',
    counterpart: 'PyKMIP',
    open: async () => {
      const server = await pyKmipServer();
      const provider = await KmipProvider.open({ host: server.host, port: server.port, tls: server.clientTls, keyName: unique('bench'), protocolVersion, signal: AbortSignal.timeout(30_000) });
      return { provider, close: () => provider.close() };
    },
  };
}

const multi: Setup = {
  key: 'multi-webcrypto',
  label: 'multi (webcrypto A256GCM + A256KW)',
  kind: 'in-process',
  counterpart: 'Node WebCrypto, in process',
  open: async () => ({
    provider: new MultiKeyProvider({
      providers: [await WebCryptoKeyProvider.generate({ algorithm: 'A256GCM', kekId: 'bench-primary' }), await WebCryptoKeyProvider.generate({ algorithm: 'A256KW', kekId: 'bench-escrow' })],
    }),
  }),
};

export const SETUPS: readonly Setup[] = [
  webcrypto('A256GCM'),
  webcrypto('A256KW'),
  webcrypto('RSA-OAEP-256'),
  multi,
  awsKms,
  gcpKms,
  azure('vault'),
  azure('managed-hsm'),
  vaultTransit(false),
  vaultTransit(true),
  pkcs11('AES_KEY_WRAP_PAD'),
  pkcs11('AES_GCM'),
  kmip('1.4'),
  kmip('1.2'),
];
