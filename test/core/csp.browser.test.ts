/**
 * Where a Content-Security-Policy blocks WebAssembly compilation (script-src without
 * 'wasm-unsafe-eval'), loadCore() must fail with NotSupportedError saying so, not with a raw
 * CompileError; with 'wasm-unsafe-eval' allowed, the same page loads the core.
 */
import { describe, expect, it } from 'vitest';

interface FrameResult {
  ok: boolean;
  name?: string;
  code?: string;
  message?: string;
}

async function loadCoreInFrame(csp: string): Promise<FrameResult> {
  const moduleUrl = new URL('../../src/core/index.ts', import.meta.url).href;
  const frame = document.createElement('iframe');
  const token = Math.random().toString(36).slice(2);
  frame.srcdoc = `<!doctype html><meta http-equiv="Content-Security-Policy" content="${csp}">
<script type="module">
  import(${JSON.stringify(moduleUrl)})
    .then((m) => m.loadCore())
    .then(() => parent.postMessage({ token: ${JSON.stringify(token)}, ok: true }, '*'),
          (e) => parent.postMessage({ token: ${JSON.stringify(token)}, ok: false, name: e.name, code: e.code, message: String(e.message) }, '*'));
</script>`;
  const result = new Promise<FrameResult>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('frame did not report within 30 s')), 30_000);
    window.addEventListener('message', function onMessage(e) {
      if (e.data?.token !== token) return;
      window.removeEventListener('message', onMessage);
      clearTimeout(timer);
      resolve(e.data as FrameResult);
    });
  });
  document.body.appendChild(frame);
  try {
    return await result;
  } finally {
    frame.remove();
  }
}

describe('loadCore under a Content-Security-Policy', () => {
  it('fails with NotSupportedError when the CSP blocks WebAssembly', async () => {
    const r = await loadCoreInFrame(`script-src ${location.origin} 'unsafe-inline'`);
    expect(r.ok).toBe(false);
    expect(r.name).toBe('NotSupportedError');
    expect(r.code).toBe('NOT_SUPPORTED');
    expect(r.message).toContain('wasm-unsafe-eval');
  });

  it("loads when the CSP allows 'wasm-unsafe-eval'", async () => {
    const r = await loadCoreInFrame(`script-src ${location.origin} 'unsafe-inline' 'wasm-unsafe-eval'`);
    expect(r).toEqual({ token: expect.any(String), ok: true });
  });
});
