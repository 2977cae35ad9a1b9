/**
 * Minimal assertions usable anywhere the core suite runs: Node, a browser page and a module worker
 * (where the test runner's own `expect` is not available).
 */

export class AssertionError extends Error {
  override name = 'AssertionError';
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}

export function hex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += bytes[i]!.toString(16).padStart(2, '0');
  return s;
}

export function fromHex(h: string): Uint8Array {
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function assertBytes(actual: Uint8Array, expected: Uint8Array, label: string): void {
  if (!(actual instanceof Uint8Array)) throw new AssertionError(`${label}: expected a Uint8Array`);
  if (!bytesEqual(actual, expected)) {
    const at = firstDifference(actual, expected);
    throw new AssertionError(`${label}: bytes differ (lengths ${actual.length} vs ${expected.length}, first difference at ${at})`);
  }
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

/** Runs fn and checks it throws an error with the given stable code; returns the error. */
export function assertThrowsCode(fn: () => unknown, code: string, label: string): Error & { code?: string } {
  try {
    fn();
  } catch (err) {
    const e = err as Error & { code?: string };
    if (e.code !== code) throw new AssertionError(`${label}: expected error code ${code}, got ${e.code ?? e.name}: ${e.message}`);
    return e;
  }
  throw new AssertionError(`${label}: expected an error with code ${code}, but nothing was thrown`);
}

/** Deterministic pseudo-random bytes (xorshift) so failures reproduce; not for keys in production. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    this.s = x;
    return x;
  }
  int(maxExclusive: number): number {
    return this.next() % maxExclusive;
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.next() & 0xff;
    return out;
  }
  /** n bytes at an odd offset inside a larger buffer: exercises unaligned subarray inputs. */
  unaligned(n: number): Uint8Array {
    const pad = 1 + this.int(7);
    const buf = this.bytes(n + pad + 3);
    return buf.subarray(pad, pad + n);
  }
}
