/**
 * JSONL (one JSON object per line, https://jsonlines.org) export of the audit log for a SIEM: each
 * line exactly as stored (the entry's canonical JSON), '\n' after every line, oldest first. A string
 * for small logs, an async iterable of lines for big ones (bounded memory: one page at a time).
 */
import { FormatError, InvalidInputError } from '../errors.js';
import type { KeyStore } from '../store/store.js';
import { parseAuditLine, type AuditEntry } from './entry.js';

export interface ExportRange {
  /** First seq to export (default 1). */
  from?: number | undefined;
  /** Last seq to export, inclusive (default: the newest). */
  to?: number | undefined;
  /** Lines read from the store per call (default 1000). */
  pageSize?: number | undefined;
}

const DEFAULT_PAGE = 1000;

function positive(value: unknown, name: string): void {
  if (!Number.isSafeInteger(value) || (value as number) < 1) throw new InvalidInputError(`${name} must be a positive integer`);
}

/**
 * The stored lines from `from` to `to`, each followed by '\n'.
 * @param store the KeyStore that holds the log
 * @param range from, to (inclusive), pageSize
 * @example
 * for await (const line of exportJsonlStream(store, { from: lastShipped + 1 })) siem.write(line);
 * @throws InvalidInputError for a bad range
 */
export async function* exportJsonlStream(store: KeyStore, range: ExportRange = {}): AsyncGenerator<string, void, undefined> {
  const { from = 1, to, pageSize = DEFAULT_PAGE } = range;
  positive(from, 'from');
  positive(pageSize, 'pageSize');
  if (to !== undefined && (!Number.isSafeInteger(to) || to < from - 1)) throw new InvalidInputError('to must be an integer not below from - 1');
  let next = from;
  while (to === undefined || next <= to) {
    const limit = to === undefined ? pageSize : Math.min(pageSize, to - next + 1);
    const page = await store.readAudit(next, limit);
    if (page.length === 0) return;
    for (const stored of page) {
      if (to !== undefined && stored.seq > to) return;
      yield `${stored.line}\n`;
    }
    // A store that skipped seqs (a deleted row) answers from the next one present.
    next = Math.max(next + page.length, page[page.length - 1]!.seq + 1);
  }
}

/** The whole range as one JSONL string (see exportJsonlStream). */
export async function exportJsonl(store: KeyStore, range: ExportRange = {}): Promise<string> {
  let out = '';
  for await (const line of exportJsonlStream(store, range)) out += line;
  return out;
}

/** The lines of a JSONL text with their 1-based line numbers: split on '\n' ('\r\n' too), blank lines skipped. */
function numberedLines(text: string): { line: string; number: number }[] {
  if (typeof text !== 'string') throw new InvalidInputError('JSONL must be a string');
  return text
    .split('\n')
    .map((line, i) => ({ line: line.endsWith('\r') ? line.slice(0, -1) : line, number: i + 1 }))
    .filter(({ line }) => line.trim() !== '');
}

/** The non-blank lines of a JSONL text. */
export function splitJsonl(text: string): string[] {
  return numberedLines(text).map(({ line }) => line);
}

/**
 * Parses exported JSONL into entries, checking each line's shape (not the chain: verifyAuditLog).
 * @throws FormatError naming the first bad line's number, never its content
 */
export function parseJsonl(text: string): AuditEntry[] {
  return numberedLines(text).map(({ line, number }) => {
    try {
      return parseAuditLine(line);
    } catch (cause) {
      throw new FormatError(`JSONL line ${number}: ${(cause as Error).message}`, { cause });
    }
  });
}
