/**
 * vecseal's core as the benchmark drives it: one sealBatch call over a whole workload (one key,
 * packed random IVs), one aesGcmEncrypt for a single large message, one hkdfExpandBatch for all
 * derivations. One call per workload is the point of the batch API: the JS↔WASM boundary and the
 * copies into linear memory are paid per chunk, not per record.
 */
import type { Core } from '../../src/core/index.js';
import { DERIVED_BYTES } from '../workloads.js';
import type { Contender } from './contender.js';

export function vecsealContender(core: Core): Contender {
  return {
    name: 'vecseal',
    async sealer(key) {
      return async (d) => {
        if (d.records.length === 1) {
          const sealed = core.aesGcmEncrypt(key, d.ivList[0]!, d.records[0]!);
          return () => sealed;
        }
        const { bytes, offsets } = core.sealBatch({ key, ivs: d.ivs, plaintexts: d.records });
        return (i) => bytes.subarray(offsets[i]!, offsets[i + 1]!);
      };
    },
    async deriver() {
      return async (d) => {
        const out = core.hkdfExpandBatch(d.prk, d.infos, DERIVED_BYTES);
        return (i) => out.subarray(i * DERIVED_BYTES, (i + 1) * DERIVED_BYTES);
      };
    },
  };
}
