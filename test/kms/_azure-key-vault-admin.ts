/**
 * Portable (Node and browsers): the Key Vault keys REST calls (api-version 7.4) the Azure tests need
 * to manage keys - create (a new version when the name exists), import, enable/disable, delete,
 * purge, recover - and raw key operations, against servers/azure-key-vault.server.ts or any endpoint
 * that speaks the same API. Errors name the call and the service's answer, never the token.
 */

export interface AzureKeyInfo {
  /** {vault}/keys/{name}/{version} */
  kid: string;
  version: string;
}

export interface RawAnswer {
  status: number;
  json: Record<string, unknown> | undefined;
}

export interface AzureKeyVaultAdmin {
  /** POST /keys/{name}/create: a new key, or a new current version of an existing one. */
  createKey(name: string, body: Record<string, unknown>): Promise<AzureKeyInfo>;
  /** PUT /keys/{name}: imports a JWK (with private parts, or `k` for oct keys). */
  importKey(name: string, body: Record<string, unknown>): Promise<AzureKeyInfo>;
  /** PATCH /keys/{name}/{version}: attributes.enabled. */
  setEnabled(name: string, version: string, enabled: boolean): Promise<void>;
  /** DELETE /keys/{name}: soft delete. */
  deleteKey(name: string): Promise<void>;
  /** DELETE /deletedkeys/{name}. */
  purge(name: string): Promise<void>;
  /** POST /deletedkeys/{name}/recover. */
  recover(name: string): Promise<void>;
  /** Any call, answer returned as is (for wrapkey/unwrapkey and error cases). */
  raw(method: string, path: string, body?: unknown, options?: { token?: string; apiVersion?: string }): Promise<RawAnswer>;
}

export function azureKeyVaultAdmin(url: string, token: string): AzureKeyVaultAdmin {
  const raw: AzureKeyVaultAdmin['raw'] = async (method, path, body, options = {}) => {
    const response = await fetch(`${url}${path}?api-version=${options.apiVersion ?? '7.4'}`, {
      method,
      headers: { authorization: `Bearer ${options.token ?? token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, json: text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>) };
  };
  const call = async (method: string, path: string, body?: unknown): Promise<Record<string, unknown> | undefined> => {
    const answer = await raw(method, path, body);
    if (answer.status >= 300) {
      const error = answer.json?.error as { code?: string; message?: string } | undefined;
      throw new Error(`Key Vault ${method} ${path}: HTTP ${answer.status} ${error?.code ?? ''} ${error?.message ?? ''}`);
    }
    return answer.json;
  };
  const info = (json: Record<string, unknown> | undefined): AzureKeyInfo => {
    const kid = (json?.key as { kid: string }).kid;
    return { kid, version: kid.split('/').at(-1)! };
  };
  return {
    createKey: async (name, body) => info(await call('POST', `/keys/${name}/create`, body)),
    importKey: async (name, body) => info(await call('PUT', `/keys/${name}`, body)),
    setEnabled: async (name, version, enabled) => {
      await call('PATCH', `/keys/${name}/${version}`, { attributes: { enabled } });
    },
    deleteKey: async (name) => {
      await call('DELETE', `/keys/${name}`);
    },
    purge: async (name) => {
      await call('DELETE', `/deletedkeys/${name}`);
    },
    recover: async (name) => {
      await call('POST', `/deletedkeys/${name}/recover`);
    },
    raw,
  };
}

/** A fresh key name (letters, digits, dashes). */
export function uniqueKeyName(prefix: string): string {
  return `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
}
