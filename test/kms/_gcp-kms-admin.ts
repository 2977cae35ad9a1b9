/**
 * Portable (Node and browsers): the Cloud KMS REST v1 management calls the gcp-kms tests need (key
 * rings, keys, versions, primary, state, destroy/restore), against the local server in
 * servers/gcp-kms.server.ts or any endpoint that speaks the same API. Errors name the call and
 * the service's status, never the token.
 */

export type VersionState = 'ENABLED' | 'DISABLED';

export interface GcpKmsAdmin {
  /** Creates projects/<project>/locations/<location>/keyRings/<id>; returns its name. */
  createKeyRing(location: string, id: string): Promise<string>;
  /** Creates an ENCRYPT_DECRYPT key with version 1 as primary; returns its name. */
  createKey(ring: string, id: string, options?: { destroyScheduledDuration?: string }): Promise<string>;
  /** Adds a version (not primary); returns its name. */
  createVersion(key: string): Promise<string>;
  setPrimary(key: string, version: string): Promise<void>;
  setState(version: string, state: VersionState): Promise<void>;
  destroy(version: string): Promise<void>;
  restore(version: string): Promise<void>;
  getKey(key: string): Promise<Record<string, unknown>>;
}

export function gcpKmsAdmin(url: string, token: string): GcpKmsAdmin {
  const call = async (method: string, path: string, body?: unknown): Promise<Record<string, unknown>> => {
    const response = await fetch(`${url}/v1/${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await response.json()) as Record<string, unknown>;
    if (!response.ok) {
      const error = json.error as { status?: string; message?: string } | undefined;
      throw new Error(`Cloud KMS ${method} ${path.split('?')[0]}: HTTP ${response.status} ${error?.status ?? ''} ${error?.message ?? ''}`);
    }
    return json;
  };
  const name = (json: Record<string, unknown>): string => json.name as string;
  return {
    createKeyRing: async (location, id) => name(await call('POST', `${location}/keyRings?keyRingId=${id}`, {})),
    createKey: async (ring, id, options = {}) =>
      name(
        await call('POST', `${ring}/cryptoKeys?cryptoKeyId=${id}`, {
          purpose: 'ENCRYPT_DECRYPT',
          versionTemplate: { algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION', protectionLevel: 'SOFTWARE' },
          ...options,
        }),
      ),
    createVersion: async (key) => name(await call('POST', `${key}/cryptoKeyVersions`, {})),
    setPrimary: async (key, version) => {
      await call('POST', `${key}:updatePrimaryVersion`, { cryptoKeyVersionId: version.split('/').pop() });
    },
    setState: async (version, state) => {
      await call('PATCH', `${version}?updateMask=state`, { state });
    },
    destroy: async (version) => {
      await call('POST', `${version}:destroy`, {});
    },
    restore: async (version) => {
      await call('POST', `${version}:restore`, {});
    },
    getKey: (key) => call('GET', key),
  };
}
