/**
 * Instantiates the embedded core module once per realm (page, worker or Node process), after
 * checking that WebAssembly and its SIMD proposal are available and not blocked by a CSP.
 */
import { NotSupportedError } from '../errors.js';
import { WASM_BASE64 } from './_wasm-bytes.js';

/** The raw exports of assembly/index.ts (pointer ABI; see that file). */
export interface CoreExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  selfCheck(): number;
  wipe(): void;
  aesEcbEncrypt(keyPtr: number, keyLen: number, src: number, dst: number, blocks: number): number;
  gcmBegin(keyPtr: number, keyLen: number, ivPtr: number): number;
  gcmAddAad(ptr: number, len: number): void;
  gcmEncryptUpdate(src: number, dst: number, len: number): void;
  gcmDecryptUpdate(src: number, dst: number, len: number): void;
  gcmEndEncrypt(tagPtr: number): void;
  gcmEndDecrypt(tagPtr: number): number;
  sealBatch(descPtr: number, count: number, keyLen: number): number;
  openBatch(descPtr: number, count: number, keyLen: number, statusPtr: number): number;
  sha256Begin(): void;
  sha256Absorb(ptr: number, len: number): void;
  sha256End(out: number): void;
  hmacBegin(keyPtr: number, keyLen: number): void;
  hmacAbsorb(ptr: number, len: number): void;
  hmacEnd(out: number): void;
  hkdfSha256Expand(prkPtr: number, prkLen: number, infoPtr: number, infoLen: number, out: number, outLen: number): void;
  hkdfSha256ExpandBatch(prkPtr: number, prkLen: number, descPtr: number, count: number, outLen: number, out: number): void;
}

/** The smallest module using a SIMD instruction: (func (result v128) v128.const 0). */
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, //       type section: () -> v128
  0x03, 0x02, 0x01, 0x00, //                         function section: one function of type 0
  0x0a, 0x16, 0x01, 0x14, 0x00, 0xfd, 0x0c, //       code: no locals, v128.const
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0x0b, //                                           end
]);

/** The subset of the WebAssembly namespace the loader uses (a parameter so tests can vary it). */
export type WasmApi = Pick<typeof WebAssembly, 'validate' | 'instantiate'>;

function decodeBase64(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * Checks support and instantiates the module.
 * @throws NotSupportedError when WebAssembly or SIMD is missing, or compilation is blocked (CSP).
 */
export async function instantiateCore(api: WasmApi | undefined = globalThis.WebAssembly): Promise<CoreExports> {
  if (api === undefined || typeof api.instantiate !== 'function') {
    throw new NotSupportedError('WebAssembly is not available in this runtime; vecseal core needs WebAssembly with SIMD');
  }
  if (!api.validate(SIMD_PROBE)) {
    throw new NotSupportedError('WebAssembly SIMD (fixed-width, 128-bit) is not supported by this runtime; vecseal core needs it');
  }
  let instance: WebAssembly.Instance;
  try {
    const source = decodeBase64(WASM_BASE64) as Uint8Array<ArrayBuffer>;
    const result = (await api.instantiate(source, {})) as WebAssembly.WebAssemblyInstantiatedSource;
    instance = result.instance;
  } catch (err) {
    const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    throw new NotSupportedError(
      `WebAssembly compilation was refused (${detail}). If a Content-Security-Policy is set, allow 'wasm-unsafe-eval' in script-src.`,
      { cause: err },
    );
  }
  const exports = instance.exports as unknown as CoreExports;
  if (exports.selfCheck() !== 1) {
    throw new NotSupportedError('vecseal core failed its self-check (static layout); the build is broken');
  }
  return exports;
}
