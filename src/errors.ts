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

/** Base class of every error the SDK throws on purpose. */
export class VecsealError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** An argument has the wrong type, length or range. Thrown before anything is allocated or sent. */
export class InvalidInputError extends VecsealError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_INPUT', message, options);
  }
}

/** A tag did not verify: wrong key, wrong context (AAD), or tampered or truncated ciphertext. */
export class AuthenticationError extends VecsealError {
  constructor(message = 'authentication failed: wrong key, wrong context, or tampered data', options?: { cause?: unknown }) {
    super('AUTHENTICATION_FAILED', message, options);
  }
}

/** Bytes do not follow the record or wrapped-key format. */
export class FormatError extends VecsealError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('FORMAT_ERROR', message, options);
  }
}

/** A key provider (KMS, HSM, ...) failed; `cause` holds the underlying error. */
export class ProviderError extends VecsealError {
  readonly providerCode: string | undefined;
  constructor(message: string, options?: { cause?: unknown; providerCode?: string }) {
    super('PROVIDER_ERROR', message, options);
    this.providerCode = options?.providerCode;
  }
}

/** The access policy denied the operation. */
export class PolicyError extends VecsealError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('POLICY_DENIED', message, options);
  }
}

/** The key's state (suspended, destroyed, decrypt-only ...) forbids the operation. */
export class KeyStateError extends VecsealError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('KEY_STATE', message, options);
  }
}

/** The runtime lacks something required (WebAssembly, SIMD, an algorithm) or blocks it (CSP). */
export class NotSupportedError extends VecsealError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NOT_SUPPORTED', message, options);
  }
}

/** A worker stopped (crashed, exited or closed itself) while it ran a task; the pool replaces it. */
export class WorkerCrashedError extends VecsealError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('WORKER_CRASHED', message, options);
  }
}

/** The caller's AbortSignal fired before the operation delivered its result; `cause` is the signal's reason. */
export class AbortedError extends VecsealError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ABORTED', message, options);
  }
}

/** The object (a worker pool, ...) was closed before or while the operation ran. */
export class ClosedError extends VecsealError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CLOSED', message, options);
  }
}
