/**
 * Dates in provider answers (RFC 3339 / ISO 8601 date-times, and the epoch seconds AWS KMS and
 * Azure Key Vault write), for KekDestruction.deletionDate.
 */

/** An ISO 8601 date-time as services write it: a fraction of any length, Z or an offset. */
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;

/**
 * Milliseconds since the epoch of an ISO 8601 date-time, or NaN for anything else. The fraction
 * is cut to milliseconds first: Cloud KMS writes nanoseconds, which not every engine's Date.parse takes.
 */
export function isoMillis(value: string): number {
  if (!ISO_DATE_TIME.test(value)) return Number.NaN;
  return Date.parse(value.replace(/(\.\d{3})\d+/, '$1'));
}

/** An ISO 8601 date-time (UTC) from epoch seconds, or undefined when `value` is not a finite number. */
export function isoFromSeconds(value: unknown): string | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? new Date(value * 1000).toISOString() : undefined;
}

/** The latest of some ISO 8601 date-times; undefined when there are none or one is not a date-time. */
export function latestIso(values: readonly (string | undefined)[]): string | undefined {
  let latest: string | undefined;
  for (const v of values) {
    if (v === undefined || Number.isNaN(isoMillis(v))) return undefined;
    if (latest === undefined || isoMillis(v) > isoMillis(latest)) latest = v;
  }
  return latest;
}
