/**
 * Keeps the SDK's error classes intact across a comlink worker boundary (HTML structured clone).
 * comlink's own "throw" handler sends only `message`, `name` and `stack` and rebuilds a plain Error,
 * so a caller could no longer branch on `code`. The handler installed here also sends `code` (and
 * ProviderError's `providerCode`) and rebuilds the matching VecsealError subclass on the receiving
 * side. `cause` is not sent: it may hold anything, including values that cannot be cloned.
 */
import { transferHandlers, type TransferHandler } from 'comlink';
import {
  AbortedError,
  AuthenticationError,
  ClosedError,
  FormatError,
  InvalidInputError,
  KeyStateError,
  NotSupportedError,
  PolicyError,
  ProviderError,
  VecsealError,
  WorkerCrashedError,
  type ErrorCode,
} from '../errors.js';

/** What comlink hands the "throw" handler: the thrown value, wrapped (comlink marks the wrapper with a private symbol). */
interface Thrown {
  value: unknown;
}

type WireError =
  | { kind: 'vecseal'; code: string; name: string; message: string; stack: string | undefined; providerCode: string | undefined }
  | { kind: 'error'; name: string; message: string; stack: string | undefined }
  | { kind: 'value'; value: unknown };

/** One entry per code, so adding a code to ErrorCode without teaching this file fails the typecheck. */
const REBUILD: Record<ErrorCode, (message: string, providerCode: string | undefined) => VecsealError> = {
  INVALID_INPUT: (message) => new InvalidInputError(message),
  AUTHENTICATION_FAILED: (message) => new AuthenticationError(message),
  FORMAT_ERROR: (message) => new FormatError(message),
  PROVIDER_ERROR: (message, providerCode) => new ProviderError(message, { providerCode }),
  POLICY_DENIED: (message) => new PolicyError(message),
  KEY_STATE: (message) => new KeyStateError(message),
  NOT_SUPPORTED: (message) => new NotSupportedError(message),
  WORKER_CRASHED: (message) => new WorkerCrashedError(message),
  ABORTED: (message) => new AbortedError(message),
  CLOSED: (message) => new ClosedError(message),
};

function isKnownCode(code: string): code is ErrorCode {
  return Object.hasOwn(REBUILD, code);
}

function toWire(value: unknown): WireError {
  if (value instanceof VecsealError) {
    const providerCode = value instanceof ProviderError ? value.providerCode : undefined;
    return { kind: 'vecseal', code: value.code, name: value.name, message: value.message, stack: value.stack, providerCode };
  }
  if (value instanceof Error) return { kind: 'error', name: value.name, message: value.message, stack: value.stack };
  return { kind: 'value', value };
}

function fromWire(wire: WireError): unknown {
  if (wire.kind === 'value') return wire.value;
  let error: Error;
  if (wire.kind === 'vecseal') {
    error = reviveError(wire);
  } else {
    error = new Error(wire.message);
  }
  error.name = wire.name;
  // The worker's stack says where it was thrown, which the receiving side's stack cannot.
  if (wire.stack !== undefined) error.stack = wire.stack;
  return error;
}

let installed = false;

/**
 * Replaces comlink's "throw" transfer handler in this realm. Call it on both sides of the boundary
 * (the pool does on the main thread, `exposeInWorker` in the worker); calling it again is a no-op.
 *
 * @example
 * installErrorTransfer();
 * // in the worker: throw new InvalidInputError('ivs must be count x 12 bytes, got 13')
 * // on the main thread: err instanceof InvalidInputError && err.code === 'INVALID_INPUT'
 */
export function installErrorTransfer(): void {
  if (installed) return;
  const original = transferHandlers.get('throw');
  if (original === undefined) throw new Error('comlink has no "throw" transfer handler to replace; its version does not match 4.x');
  const handler: TransferHandler<Thrown, WireError> = {
    // Only comlink knows its private marker symbol, so recognising a thrown value stays its job.
    canHandle: (value): value is Thrown => original.canHandle(value),
    serialize: (thrown) => [toWire(thrown.value), []],
    deserialize: (wire) => {
      throw fromWire(wire);
    },
  };
  transferHandlers.set('throw', handler as TransferHandler<unknown, unknown>);
  installed = true;
}

/**
 * Rebuilds a VecsealError from plain data, e.g. a per-record failure a worker returned as
 * `{ code, message }` because it is a result rather than a thrown error.
 * @param data the error's `code` and `message` (and `providerCode` for PROVIDER_ERROR)
 * @returns an instance of the subclass that owns `code` (VecsealError itself for an unknown code)
 */
export function reviveError(data: { code: string; message: string; providerCode?: string | undefined }): VecsealError {
  // An unknown code can only come from a worker built from other sources; keep the code at least.
  return isKnownCode(data.code) ? REBUILD[data.code](data.message, data.providerCode) : new VecsealError(data.code as ErrorCode, data.message);
}
