/**
 * The baseline a developer would write by hand: one `crypto.subtle.encrypt` (AES-256-GCM, random
 * 96-bit IV, the id as associated data) per record, awaited in a loop, on the page's thread. The demo
 * runs it over the same records right after vecseal so the two rates are measured side by side.
 */
export interface BaselineProgress {
  done: number;
  total: number;
  elapsedMs: number;
}

const PROGRESS_EVERY = 250;

/**
 * Seals every payload with WebCrypto, one call per record, and throws the output away (it is only
 * timed). The key is generated for this run and dropped with it.
 * @returns the time it took in milliseconds
 */
export async function sealWithWebCryptoLoop(ids: readonly string[], payloads: readonly Uint8Array[], onProgress: (p: BaselineProgress) => void, signal?: AbortSignal): Promise<number> {
  const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt']);
  const encoder = new TextEncoder();
  const started = performance.now();
  let sealedBytes = 0;
  for (let i = 0; i < payloads.length; i++) {
    if (signal?.aborted) throw signal.reason;
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const sealed = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: encoder.encode(ids[i]!) }, key, payloads[i]! as Uint8Array<ArrayBuffer>);
    sealedBytes += sealed.byteLength;
    if ((i + 1) % PROGRESS_EVERY === 0 || i + 1 === payloads.length) onProgress({ done: i + 1, total: payloads.length, elapsedMs: performance.now() - started });
  }
  if (sealedBytes === 0 && payloads.length > 0) throw new Error('WebCrypto returned nothing');
  return performance.now() - started;
}
