/**
 * WebCrypto as a user would call it without vecseal: one imported AES-256-GCM key, one encrypt()
 * per record; one imported HKDF key, one deriveBits() per derivation.
 *
 * Each is measured twice. Sequential awaits are what most code does, but outside Chromium each
 * await costs ~100 µs here (largely an idle vCPU waking up), so Promise.all in bounded slices is
 * much faster in Node, Firefox and WebKit. The benchmark reports the faster of the two as the
 * baseline, so vecseal is never compared against a strawman.
 *
 * WebCrypto's HKDF has no expand-only form: each deriveBits() does extract and expand from the
 * IKM, with the salt, so its output equals HKDF-Expand(HKDF-Extract(salt, ikm), info).
 */
import { DERIVED_BYTES } from '../workloads.js';
import type { Contender, Outputs } from './contender.js';
import { listOutputs } from './contender.js';

/** Requests in flight at once in the Promise.all variant: bounds memory and the engine's queue. */
export const PARALLEL_SLICE = 1000;

type Call = (i: number) => Promise<ArrayBuffer>;

async function sequential(count: number, call: Call): Promise<Outputs> {
  const out: Uint8Array[] = new Array(count);
  for (let i = 0; i < count; i++) out[i] = new Uint8Array(await call(i));
  return listOutputs(out);
}

async function sliced(count: number, call: Call): Promise<Outputs> {
  const out: Uint8Array[] = new Array(count);
  for (let from = 0; from < count; from += PARALLEL_SLICE) {
    const to = Math.min(count, from + PARALLEL_SLICE);
    const pending: Promise<ArrayBuffer>[] = [];
    for (let i = from; i < to; i++) pending.push(call(i));
    const done = await Promise.all(pending);
    for (let i = from; i < to; i++) out[i] = new Uint8Array(done[i - from]!);
  }
  return listOutputs(out);
}

/** Both variants over one SubtleCrypto (globalThis.crypto.subtle in Node and browsers). */
export function webCryptoContenders(subtle: SubtleCrypto): Contender[] {
  const variants = [
    { variant: 'sequential await', drive: sequential },
    { variant: `Promise.all, slices of ${PARALLEL_SLICE}`, drive: sliced },
  ];
  return variants.map(({ variant, drive }): Contender => ({
    name: 'WebCrypto',
    variant,
    hkdfNote: 'extract + expand per call',
    async sealer(rawKey) {
      const key = await subtle.importKey('raw', rawKey, { name: 'AES-GCM' }, false, ['encrypt']);
      return (d) => drive(d.records.length, (i) => subtle.encrypt({ name: 'AES-GCM', iv: d.ivList[i]! }, key, d.records[i]!));
    },
    async deriver(data) {
      const key = await subtle.importKey('raw', data.ikm, 'HKDF', false, ['deriveBits']);
      return (d) =>
        drive(d.infos.length, (i) => subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: d.salt, info: d.infos[i]! }, key, DERIVED_BYTES * 8));
    },
  }));
}
