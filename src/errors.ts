/**
 * The SDK's error classes. Every error carries a stable `code` that callers can branch on (and
 * that survives a worker boundary, where class identity does not). Messages say what was expected
 * and what came; they never contain key bytes or plaintext.
 */

/** Stable error codes. New codes may be added; existing ones never change meaning. */
export type ErrorCode =
  | 'INVALID_INPUT'
  | 'AUTHENTICATION_FAILED'
  | 'FORMAT_ERROR'
  | 'PROVIDER_ERROR'
  | 'POLICY_DENIED'
  | 'KEY_STATE'
  | 'NOT_SUPPORTED'
  | 'WORKER_CRASHED'
  | 'ABORTED'
  | 'CLOSED';

/**
 * Base class of every error the SDK throws on purpose. Each class states its `name` as a string:
 * a minifier renames classes, so `new.target.name` would read 'w' in a bundled app.
 */
export class VecsealError extends Error {
  override name = 'VecsealError';
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    // Subclasses declare their own name (below), set after this; this covers an app's own subclasses.
    if (new.target !== VecsealError) this.name = new.target.name;
  }
}

/** An argument has the wrong type, length or range. Thrown before anything is allocated or sent. */
export class InvalidInputError extends VecsealError {
  override name = 'InvalidInputError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_INPUT', message, options);
  }
}

/**
 * Why a wrapped DEK did not unwrap, where vecseal can tell (see README "Errors"):
 * - `wrong-context`: the context differs from the one the DEK was wrapped under;
 * - `wrong-key`: the wrapped key names another KEK, or this KEK rejects bytes that are as written;
 * - `tampered`: the wrapped key's bytes or fields changed after wrapping.
 */
export type UnwrapFailure = 'wrong-context' | 'wrong-key' | 'tampered';

/** A tag did not verify: wrong key, wrong context (AAD), or tampered or truncated ciphertext. */
export class AuthenticationError extends VecsealError {
  override name = 'AuthenticationError';
  /** Set on wrapped-key failures (KeyProvider.unwrap); undefined for records. */
  readonly reason: UnwrapFailure | undefined;
  constructor(message = 'authentication failed: wrong key, wrong context, or tampered data', options?: { cause?: unknown; reason?: UnwrapFailure }) {
    super('AUTHENTICATION_FAILED', message, options);
    this.reason = options?.reason;
  }
}

/** Bytes do not follow the record or wrapped-key format. */
export class FormatError extends VecsealError {
  override name = 'FormatError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('FORMAT_ERROR', message, options);
  }
}

/**
 * What kind of provider failure it was:
 * - `timeout`: no answer within the provider's timeout;
 * - `network`: the connection failed or closed before an answer;
 * - `throttled`: the service asked to slow down (retried with backoff);
 * - `unavailable`: the service answered with a server error (5xx; retried with backoff);
 * - `rejected`: the service refused the request (credentials, permissions, unknown key, bad request);
 * - `protocol`: the answer did not follow the service's protocol.
 */
export type ProviderFailure = 'timeout' | 'network' | 'throttled' | 'unavailable' | 'rejected' | 'protocol';

/** A key provider (KMS, HSM, ...) failed; `cause` holds the underlying error. */
export class ProviderError extends VecsealError {
  override name = 'ProviderError';
  /** The provider's own error code (e.g. 'ThrottlingException', 'CKR_DEVICE_ERROR'), when it gave one. */
  readonly providerCode: string | undefined;
  readonly kind: ProviderFailure | undefined;
  /** HTTP status, for HTTP providers. */
  readonly status: number | undefined;
  /** Attempts made, retries included. */
  readonly attempts: number | undefined;
  constructor(message: string, options?: { cause?: unknown; providerCode?: string; kind?: ProviderFailure; status?: number; attempts?: number }) {
    super('PROVIDER_ERROR', message, options);
    this.providerCode = options?.providerCode;
    this.kind = options?.kind;
    this.status = options?.status;
    this.attempts = options?.attempts;
  }

  /** Throttling and server errors are worth another try; nothing else is. */
  get retryable(): boolean {
    return this.kind === 'throttled' || this.kind === 'unavailable';
  }
}

/** The access policy denied the operation. */
export class PolicyError extends VecsealError {
  override name = 'PolicyError';
  /** Who was denied (the principal's id). */
  readonly principal: string | undefined;
  /** What was denied: 'encrypt', 'decrypt', 'rotate', 'suspend', 'destroy' or 'export-audit'. */
  readonly action: string | undefined;
  constructor(message: string, options?: { cause?: unknown; principal?: string; action?: string }) {
    super('POLICY_DENIED', message, options);
    this.principal = options?.principal;
    this.action = options?.action;
  }
}

/** A KEK's state as its provider reports it. */
export type KekState = 'enabled' | 'disabled' | 'pending-deletion' | 'destroyed' | 'compromised' | 'unknown';

/** The key's state (suspended, destroyed, decrypt-only ...) forbids the operation. */
export class KeyStateError extends VecsealError {
  override name = 'KeyStateError';
  /** For KEKs: the state the provider reported (`disabled`, `destroyed`, ...). */
  readonly state: string | undefined;
  constructor(message: string, options?: { cause?: unknown; state?: string }) {
    super('KEY_STATE', message, options);
    this.state = options?.state;
  }
}

/** The runtime lacks something required (WebAssembly, SIMD, an algorithm) or blocks it (CSP). */
export class NotSupportedError extends VecsealError {
  override name = 'NotSupportedError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('NOT_SUPPORTED', message, options);
  }
}

/** A worker stopped (crashed, exited or closed itself) while it ran a task; the pool replaces it. */
export class WorkerCrashedError extends VecsealError {
  override name = 'WorkerCrashedError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('WORKER_CRASHED', message, options);
  }
}

/** The caller's AbortSignal fired before the operation delivered its result; `cause` is the signal's reason. */
export class AbortedError extends VecsealError {
  override name = 'AbortedError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ABORTED', message, options);
  }
}

/** The object (a worker pool, ...) was closed before or while the operation ran. */
export class ClosedError extends VecsealError {
  override name = 'ClosedError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('CLOSED', message, options);
  }
}
