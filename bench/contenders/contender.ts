/**
 * What a contender in the core benchmark is: an implementation a user could pick to seal records
 * or derive per-record keys. Setup (key import, instantiation) happens before timing; the timed
 * part is one call of the returned function over a whole workload.
 */
import type { Bytes, HkdfData, SealData } from '../workloads.js';

/** Output i of a run: ciphertext || tag of record i, or derived key i. */
export type Outputs = (index: number) => Uint8Array;

export type SealRun = (data: SealData) => Promise<Outputs>;
export type DeriveRun = (data: HkdfData) => Promise<Outputs>;

export interface Contender {
  /** Shown in tables; variants of one API share a name and the faster one is reported. */
  readonly name: string;
  /** e.g. 'sequential await' or 'Promise.all, slices of 1000'. */
  readonly variant?: string;
  /** What the HKDF contender computes, when it is not expand-only from the PRK. */
  readonly hkdfNote?: string;
  /** Prepares sealing under one AES-256 key (import, key schedule) outside the timed part. */
  sealer?(key: Bytes): Promise<SealRun>;
  /** Prepares derivations from one IKM and salt (or their PRK) outside the timed part. */
  deriver?(data: HkdfData): Promise<DeriveRun>;
}

/** Results held per record, as a caller keeping each ciphertext would hold them. */
export function listOutputs(list: readonly Uint8Array[]): Outputs {
  return (i) => {
    const out = list[i];
    if (out === undefined) throw new Error(`no output for record ${i}`);
    return out;
  };
}
