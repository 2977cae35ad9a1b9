/**
 * The loader's refusal paths, which no runtime here can produce for real in Node (Node always has
 * WebAssembly SIMD and no CSP): a WebAssembly namespace without SIMD validation, one that refuses to
 * compile, and none at all. The browser CSP test covers a real refusal.
 */
import { describe, expect, it } from 'vitest';
import { instantiateCore, type WasmApi } from '../../src/core/_instance.js';
import { loadCore, NotSupportedError } from '../../src/core/index.js';

describe('loadCore', () => {
  it('returns one instance per realm', async () => {
    const [a, b] = await Promise.all([loadCore(), loadCore()]);
    expect(a).toBe(b);
    expect(await loadCore()).toBe(a);
  });

  it('reports a runtime without WebAssembly', async () => {
    await expect(instantiateCore({} as WasmApi)).rejects.toMatchObject({ code: 'NOT_SUPPORTED', message: expect.stringContaining('WebAssembly is not available') });
  });

  it('reports a runtime without SIMD (the probe module does not validate)', async () => {
    const noSimd: WasmApi = { validate: () => false, instantiate: WebAssembly.instantiate };
    const err = await instantiateCore(noSimd).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotSupportedError);
    expect((err as Error).message).toContain('SIMD');
  });

  it('the SIMD probe is a real SIMD module: valid here, and invalid once its v128 opcode is broken', async () => {
    let probe: Uint8Array<ArrayBuffer> | undefined;
    const spy: WasmApi = {
      validate: (bytes) => {
        probe = new Uint8Array(bytes as Uint8Array);
        return WebAssembly.validate(bytes);
      },
      instantiate: WebAssembly.instantiate,
    };
    await instantiateCore(spy);
    expect(probe).toBeDefined();
    expect(WebAssembly.validate(probe!)).toBe(true);
    const broken = probe!.slice();
    broken[broken.indexOf(0xfd)] = 0xff; // not a SIMD prefix any more
    expect(WebAssembly.validate(broken)).toBe(false);
  });

  it('turns a refused compilation (as under a CSP) into NotSupportedError with a hint', async () => {
    const refusing: WasmApi = {
      validate: WebAssembly.validate,
      instantiate: (() => Promise.reject(new WebAssembly.CompileError("Refused to compile: 'wasm-unsafe-eval' is not allowed"))) as never,
    };
    const err = await instantiateCore(refusing).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotSupportedError);
    expect((err as NotSupportedError).code).toBe('NOT_SUPPORTED');
    expect((err as Error).message).toContain("'wasm-unsafe-eval'");
    expect((err as Error).cause).toBeInstanceOf(WebAssembly.CompileError);
  });
});
