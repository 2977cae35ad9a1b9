/**
 * Failures of `npm start`: StartError for the ones a user can meet and fix (an unreachable server,
 * a damaged data folder, a missing PKCS#11 module), and describeError, which turns any error into
 * the one line the script prints. Never a parameter dump: database drivers put query parameters
 * (here: ciphertext, or plaintext vectors on their way into the search table) into their errors.
 */

/** An expected failure: its message is the whole story, with what to do about it. */
export class StartError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StartError';
  }
}

/** Throws a StartError when `condition` is false (a self-check of the demo failed). */
export function check(condition: boolean, what: string): asserts condition {
  if (!condition) throw new StartError(`check failed: ${what}`);
}

const MAX_MESSAGE_CHARS = 400;

/** The first line of a message, cut to a printable length. */
function oneLine(text: string): string {
  const line = text.split('\n').find((l) => l.trim() !== '')?.trim() ?? '';
  return line.length > MAX_MESSAGE_CHARS ? `${line.slice(0, MAX_MESSAGE_CHARS)}…` : line;
}

/** The errno-style code of a system error, also inside an AggregateError (pg tries every address of a host). */
export function systemCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; errors?: unknown[] };
  if (typeof e?.code === 'string') return e.code;
  if (Array.isArray(e?.errors)) for (const inner of e.errors) {
    const code = systemCode(inner);
    if (code) return code;
  }
  return undefined;
}

/**
 * One line for any error: a StartError's message; an SDK error's class, code and message; else the
 * error's name and first message line.
 */
export function describeError(err: unknown): string {
  if (err instanceof StartError) return oneLine(err.message);
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const message = oneLine(err.message) || (systemCode(err) ?? 'no message');
    const kind = typeof code === 'string' && code !== '' && !message.includes(code) ? `${err.name} (${code})` : err.name;
    return `${kind}: ${message}`;
  }
  return oneLine(String(err));
}
