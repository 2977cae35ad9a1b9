/** The cipher backends this runtime can run: wasm and webcrypto everywhere, node:crypto in Node. */
import { isNodeRuntime, type BackendName } from '../src/backends/index.js';

export function backendNames(): BackendName[] {
  return isNodeRuntime() ? ['wasm', 'webcrypto', 'node'] : ['wasm', 'webcrypto'];
}
