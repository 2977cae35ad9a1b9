/** Errors of the key lifecycle. */
import { KeyStateError } from '../errors.js';

/**
 * The DEK was destroyed (crypto-shredded): its wrapped key is erased and its records can never be
 * opened. A KeyStateError (code KEY_STATE) with state 'destroyed', so code that branches on the code
 * still works.
 */
export class KeyDestroyedError extends KeyStateError {
  override name = 'KeyDestroyedError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { ...options, state: 'destroyed' });
  }
}
