/** Portable (Node and browsers): drives the fault control API of a server from _local-server.ts. */
import type { ProviderFaults } from '../_provider-suite.js';

/** ProviderFaults over the control API of a server started by startLocalServer (Node or browser). */
export function httpFaults(url: string): ProviderFaults {
  const control = `${url}/__faults`;
  return {
    async arm(fault, times) {
      const r = await fetch(control, { method: 'POST', body: JSON.stringify({ fault, times }) });
      if (!r.ok) throw new Error(`arming ${fault} failed: HTTP ${r.status}`);
    },
    async clear() {
      await fetch(control, { method: 'DELETE' });
    },
    async requests() {
      const r = await fetch(control);
      return ((await r.json()) as { requests: number }).requests;
    },
  };
}
