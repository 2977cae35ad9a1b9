/**
 * The access policy: who may encrypt, decrypt, rotate, suspend, destroy and export the audit log,
 * for which collections and tenants. Rules are checked in the key manager before any key is fetched;
 * every denial throws PolicyError and is written to the audit log (by the caller of authorize).
 *
 * Evaluation, as in AWS IAM and Vault policies: without a policy everything is allowed (single-user
 * apps); with one, a request is allowed only if some `allow` rule matches it and no `deny` rule
 * does (an explicit deny always wins, and nothing is allowed by default).
 *
 * Purpose binding is not a rule here but structural: a DEK belongs to one collection and tenant
 * (its id, its wrap context and every record's AAD name them), so no policy can make one tenant's
 * key open another's records.
 *
 * @example
 * const policy: AccessPolicy = { rules: [
 *   { actions: ['encrypt', 'decrypt'], roles: ['app'], tenants: 'own' },
 *   { actions: ['rotate', 'suspend', 'destroy', 'export-audit'], roles: ['key-admin'] },
 *   { effect: 'deny', actions: ['destroy'], collections: ['legal-hold'] },
 * ] };
 */
import { InvalidInputError, PolicyError } from '../errors.js';

/** What a policy rule can allow or deny. 'rotate' covers rotateDek, rotateKek and reencrypt; 'suspend' covers resume. */
export type KeyAction = 'encrypt' | 'decrypt' | 'rotate' | 'suspend' | 'destroy' | 'export-audit';

export const KEY_ACTIONS: readonly KeyAction[] = ['encrypt', 'decrypt', 'rotate', 'suspend', 'destroy', 'export-audit'];

/** Who is asking: a user or service id (never a token) and what it is. */
export interface Principal {
  id: string;
  roles?: readonly string[] | undefined;
  /** The tenants this principal belongs to, for rules with `tenants: 'own'`. */
  tenants?: readonly string[] | undefined;
}

export interface PolicyRule {
  /** Default 'allow'. */
  effect?: 'allow' | 'deny' | undefined;
  actions: readonly (KeyAction | '*')[];
  /** The rule applies to principals with any of these roles ... */
  roles?: readonly string[] | undefined;
  /** ... or with one of these ids. Without roles and principals it applies to everyone. */
  principals?: readonly string[] | undefined;
  /** Collections it covers (default: all). */
  collections?: readonly string[] | undefined;
  /** Tenants it covers (default: all); 'own': the principal's own `tenants`. */
  tenants?: readonly string[] | 'own' | undefined;
}

export interface AccessPolicy {
  rules: readonly PolicyRule[];
}

/** One request to the policy. A scope field left out means "every" (destroy of a whole tenant has no collection). */
export interface AccessRequest {
  action: KeyAction;
  collection?: string | undefined;
  tenant?: string | undefined;
}

/** The principal used when the app names none (single-user apps, scripts). */
export const ANONYMOUS: Principal = Object.freeze({ id: 'anonymous' });

function stringList(value: unknown, what: string): void {
  if (value === undefined) return;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw new InvalidInputError(`${what} must be an array of strings`);
}

/** @throws InvalidInputError for a principal that is not { id: non-empty string, roles?, tenants? } */
export function checkPrincipal(principal: unknown): Principal {
  const p = principal as Principal;
  if (p === null || typeof p !== 'object' || typeof p.id !== 'string' || p.id === '') throw new InvalidInputError('a principal must be { id: string, roles?: string[], tenants?: string[] }');
  stringList(p.roles, 'principal.roles');
  stringList(p.tenants, 'principal.tenants');
  return Object.freeze({ id: p.id, ...(p.roles ? { roles: Object.freeze([...p.roles]) } : {}), ...(p.tenants ? { tenants: Object.freeze([...p.tenants]) } : {}) });
}

/** @throws InvalidInputError naming the first malformed rule */
export function checkPolicy(policy: unknown): AccessPolicy {
  const p = policy as AccessPolicy;
  if (p === null || typeof p !== 'object' || !Array.isArray(p.rules)) throw new InvalidInputError('a policy must be { rules: PolicyRule[] }');
  p.rules.forEach((rule, i) => {
    const at = `policy.rules[${i}]`;
    if (rule === null || typeof rule !== 'object') throw new InvalidInputError(`${at} must be an object`);
    if (rule.effect !== undefined && rule.effect !== 'allow' && rule.effect !== 'deny') throw new InvalidInputError(`${at}.effect must be 'allow' or 'deny'`);
    const unknown = Array.isArray(rule.actions) ? rule.actions.find((a: unknown) => a !== '*' && !KEY_ACTIONS.includes(a as KeyAction)) : undefined;
    if (!Array.isArray(rule.actions) || rule.actions.length === 0 || unknown !== undefined) {
      const named = unknown !== undefined ? ` (${JSON.stringify(String(unknown)).slice(0, 40)} is not an action)` : '';
      throw new InvalidInputError(`${at}.actions must list some of ${KEY_ACTIONS.join(', ')} or '*'${named}`);
    }
    stringList(rule.roles, `${at}.roles`);
    stringList(rule.principals, `${at}.principals`);
    stringList(rule.collections, `${at}.collections`);
    if (rule.tenants !== 'own') stringList(rule.tenants, `${at}.tenants`);
  });
  return { rules: p.rules.map((r) => ({ ...r })) };
}

function appliesTo(rule: PolicyRule, principal: Principal): boolean {
  if (rule.roles === undefined && rule.principals === undefined) return true;
  return (rule.principals?.includes(principal.id) ?? false) || (rule.roles?.some((r) => principal.roles?.includes(r)) ?? false);
}

/**
 * A scope value matches a rule's list if it is in it. An absent value (every collection, every
 * tenant) matches only a rule without that list: a rule for some tenants does not cover "all".
 */
function covers(list: readonly string[] | undefined, value: string | undefined): boolean {
  if (list === undefined) return true;
  return value !== undefined && list.includes(value);
}

function matches(rule: PolicyRule, principal: Principal, request: AccessRequest): boolean {
  if (!rule.actions.includes('*') && !rule.actions.includes(request.action)) return false;
  if (!appliesTo(rule, principal)) return false;
  if (!covers(rule.collections, request.collection)) return false;
  const tenants = rule.tenants === 'own' ? (principal.tenants ?? []) : rule.tenants;
  return covers(tenants, request.tenant);
}

/**
 * Whether `principal` may make `request` under `policy`.
 * @returns undefined if allowed, else the reason (for the PolicyError and the audit entry)
 */
export function denialReason(policy: AccessPolicy | undefined, principal: Principal, request: AccessRequest): string | undefined {
  if (policy === undefined) return undefined;
  const deny = policy.rules.findIndex((r) => r.effect === 'deny' && matches(r, principal, request));
  if (deny >= 0) return `rule ${deny} denies it`;
  const allowed = policy.rules.some((r) => r.effect !== 'deny' && matches(r, principal, request));
  return allowed ? undefined : 'no rule allows it';
}

/** The PolicyError for a denied request: names the principal, action and scope, which are identifiers, not secrets. */
export function policyError(principal: Principal, request: AccessRequest, reason: string): PolicyError {
  const scope = [request.collection !== undefined ? `collection '${request.collection}'` : 'every collection', request.tenant !== undefined ? `tenant '${request.tenant}'` : 'every tenant'].join(', ');
  return new PolicyError(`principal '${principal.id}' may not ${request.action} (${scope}): ${reason}`, { principal: principal.id, action: request.action });
}
