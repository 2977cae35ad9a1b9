/**
 * Timed rounds and their median. Every contender's first call has already run (warm-up and
 * cross-validation) when rounds start, so rounds measure steady-state throughput. Between rounds the
 * host gets a turn (a macrotask), so browsers can collect garbage and answer the driver's polls
 * outside the timed part.
 */
import type { RoundPolicy } from './workloads.js';

export interface Clock {
  /** Milliseconds from a monotonic clock (performance.now()). */
  now(): number;
  /** Lets the event loop run once between rounds. */
  yieldToHost(): Promise<void>;
}

export interface Timed<T> {
  readonly seconds: number[];
  /** The last round's result, kept for a final cross-check of the timed code path. */
  readonly last: T;
}

/** Runs `fn` for the policy's rounds: more when rounds are short, fewer (at least one) when long. */
export async function timeRounds<T>(fn: () => Promise<T>, policy: RoundPolicy, clock: Clock): Promise<Timed<T>> {
  const seconds: number[] = [];
  let total = 0;
  for (;;) {
    await clock.yieldToHost();
    const start = clock.now();
    const result = await fn();
    const took = (clock.now() - start) / 1000;
    seconds.push(took);
    total += took;
    const n = seconds.length;
    const enough =
      (n >= policy.maxRounds && total >= policy.minSeconds) ||
      n >= policy.roundCap ||
      (n >= policy.minRounds && total >= policy.softSeconds) ||
      total >= policy.hardSeconds;
    if (enough) return { seconds, last: result };
  }
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
