/**
 * AWS Signature Version 4 against AWS's published test suite (test/vectors/sigv4, README there):
 * the provider's signer (aws4fetch as src/kms/_aws-sigv4.ts configures it) and the local KMS
 * server's verifier (test/kms/servers/_sigv4-verify.ts) must both reproduce the canonical request,
 * string to sign and Authorization header of each case. Portable: Node and browsers.
 */
import { describe, expect, it } from 'vitest';
import { signAwsRequest } from '../../src/kms/_aws-sigv4.js';
import { canonicalRequestOf, signatureOf, stringToSignOf, verifySigV4, type SigV4Request } from './servers/_sigv4-verify.js';
import suite from '../vectors/sigv4/aws-sig-v4-test-suite.json';

interface Case {
  name: string;
  /** Present when the case cannot be expressed through fetch: why. */
  signer?: string;
  sessionToken?: string;
  request: { method: string; uri: string; headers: [string, string][]; body: string };
  creq: string;
  sts: string;
  authz: string;
}

const cases = suite.tests as Case[];
const { accessKeyId, secretAccessKey, region, service, datetime } = suite.config;
const scope = `${datetime.slice(0, 8)}/${region}/${service}/aws4_request`;
const signedHeadersOf = (authz: string): string[] => /SignedHeaders=([^,]+)/.exec(authz)![1]!.split(';');
const signatureIn = (authz: string): string => authz.split('Signature=')[1]!;

async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

describe('SigV4 test suite vectors', () => {
  it('has the cases the README lists, each self-consistent (creq -> sts -> authz)', async () => {
    expect(cases.length).toBe(21);
    for (const c of cases) {
      expect(c.sts.split('\n')[3], c.name).toBe(await sha256Hex(c.creq));
      expect(await signatureOf(secretAccessKey, scope, c.sts), c.name).toBe(signatureIn(c.authz));
    }
  });

  describe('the provider signer (aws4fetch, allHeaders)', () => {
    for (const c of cases.filter((x) => x.signer === undefined)) {
      it(`AWS SigV4 suite/${c.name}`, async () => {
        const headers: Record<string, string> = {};
        for (const [name, value] of c.request.headers) {
          // Host comes from the URL and X-Amz-Date / X-Amz-Security-Token from the signer, as in the provider.
          if (!['host', 'x-amz-date', 'x-amz-security-token'].includes(name.toLowerCase())) headers[name] = value;
        }
        const host = c.request.headers.find(([n]) => n.toLowerCase() === 'host')![1];
        const signed = await signAwsRequest({
          method: c.request.method,
          url: `https://${host}${c.request.uri}`,
          headers,
          body: c.request.body,
          credentials: { accessKeyId, secretAccessKey, sessionToken: c.sessionToken },
          region,
          service,
          datetime,
        });
        expect(signed.canonicalRequest).toBe(c.creq);
        expect(signed.stringToSign).toBe(c.sts);
        expect(signed.headers['authorization']).toBe(c.authz);
        expect(signed.headers['x-amz-date']).toBe(datetime);
        if (c.sessionToken) expect(signed.headers['x-amz-security-token']).toBe(c.sessionToken);
      });
    }

    it('lists why each case it does not run cannot go through fetch', () => {
      const notRun = cases.filter((x) => x.signer !== undefined);
      expect(notRun.map((x) => x.name).sort()).toEqual(['get-header-key-duplicate', 'get-header-value-order', 'get-space']);
      for (const c of notRun) expect(c.signer!.length).toBeGreaterThan(20);
    });
  });

  describe('the local KMS server verifier', () => {
    const now = new Date(Date.UTC(2015, 7, 30, 12, 36, 0));
    const lookupFor = (c: Case) => (id: string) => (id === accessKeyId ? { secretAccessKey, ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}) } : undefined);
    const requestOf = (c: Case, authz: string): SigV4Request => ({ method: c.request.method, uri: c.request.uri, headers: [...c.request.headers, ['Authorization', authz]], body: c.request.body });

    for (const c of cases) {
      it(`AWS SigV4 suite/${c.name}`, async () => {
        const creq = await canonicalRequestOf(requestOf(c, c.authz), signedHeadersOf(c.authz));
        expect(creq).toBe(c.creq);
        expect(await stringToSignOf(datetime, scope, creq)).toBe(c.sts);
        const options = { region, service, now, lookup: lookupFor(c) };
        expect(await verifySigV4(requestOf(c, c.authz), options)).toEqual({ ok: true, accessKeyId });
        // One changed hex digit of the signature, or of the body, must be refused.
        const sig = signatureIn(c.authz);
        const flipped = c.authz.replace(sig, sig.slice(0, -1) + (sig.endsWith('0') ? '1' : '0'));
        expect(await verifySigV4(requestOf(c, flipped), options)).toMatchObject({ ok: false, code: 'InvalidSignatureException' });
        expect(await verifySigV4({ ...requestOf(c, c.authz), body: `${c.request.body}x` }, options)).toMatchObject({ ok: false, code: 'InvalidSignatureException' });
      });
    }

    it('refuses what AWS refuses: no Authorization, unknown key, wrong scope, stale date, missing token', async () => {
      const c = cases.find((x) => x.name === 'get-vanilla')!;
      const options = { region, service, now, lookup: lookupFor(c) };
      const base = requestOf(c, c.authz);
      const check = async (request: SigV4Request, opts: typeof options, code: string): Promise<void> => {
        expect(await verifySigV4(request, opts)).toMatchObject({ ok: false, code });
      };
      await check({ ...base, headers: c.request.headers }, options, 'MissingAuthenticationTokenException');
      await check(requestOf(c, c.authz.replace('AKIDEXAMPLE', 'AKIDOTHER')), options, 'UnrecognizedClientException');
      await check(requestOf(c, 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request'), options, 'IncompleteSignatureException');
      await check(base, { ...options, region: 'eu-west-1' }, 'InvalidSignatureException');
      await check(base, { ...options, service: 'kms' }, 'InvalidSignatureException');
      await check(base, { ...options, now: new Date(now.getTime() + 6 * 60_000) }, 'InvalidSignatureException');
      await check(base, { ...options, lookup: () => ({ secretAccessKey, sessionToken: 'token' }) }, 'UnrecognizedClientException');
      await check(base, { ...options, lookup: () => ({ secretAccessKey: `${secretAccessKey}x` }) }, 'InvalidSignatureException');
    });
  });
});
