/** What `npm start` prints: section headings, indented lines, OK lines, numbers and byte sizes. */

export function section(title: string): void {
  console.log(`\n== ${title}`);
}

export function line(text: string): void {
  console.log(`   ${text}`);
}

export function ok(text: string): void {
  console.log(`OK ${text}`);
}

export function count(n: number): string {
  return n.toLocaleString('en');
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

export function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

export function hex(bytes: Uint8Array, max: number): string {
  const shown = Array.from(bytes.subarray(0, max), (b) => b.toString(16).padStart(2, '0')).join('');
  return bytes.length > max ? `${shown}…` : shown;
}

/** Milliseconds since `t0` (performance.now()). */
export function since(t0: number): number {
  return performance.now() - t0;
}
