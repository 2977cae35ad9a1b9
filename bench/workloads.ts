/**
 * The core benchmark's workloads and their input data: what every contender is asked to do.
 *
 * Record sizes follow what vecseal seals in practice: a 768-d float32 embedding is 3072 bytes, a
 * short text or metadata record ~256 bytes, a file or a whole shard one 64 MiB call; HKDF derives
 * one 32-byte subkey per record from a distinct ~24-byte info. Inputs (keys, IVs, plaintexts,
 * infos) are made before timing and shared by every contender, so each one encrypts exactly the
 * same bytes and outputs can be compared byte for byte.
 */
import type { Core } from '../src/core/index.js';

export const KEY_BYTES = 32;
export const IV_BYTES = 12;
export const INFO_BYTES = 24;
export const DERIVED_BYTES = 32;
/** WebCrypto's getRandomValues refuses more than this many bytes per call. */
const RANDOM_CHUNK_BYTES = 65_536;

/** Bytes on a plain ArrayBuffer, the type WebCrypto accepts (TypeScript rejects ArrayBufferLike there). */
export type Bytes = Uint8Array<ArrayBuffer>;

export type WorkloadId = 'seal-3072' | 'seal-256' | 'seal-64mib' | 'hkdf-32';

export interface SealWorkload {
  readonly kind: 'seal';
  readonly id: WorkloadId;
  readonly title: string;
  readonly count: number;
  readonly recordBytes: number;
}

export interface HkdfWorkload {
  readonly kind: 'hkdf';
  readonly id: WorkloadId;
  readonly title: string;
  readonly count: number;
}

export type Workload = SealWorkload | HkdfWorkload;

/**
 * How many timed rounds a measurement gets: enough for a median, more when rounds are short (this
 * VM's timing noise is tens of milliseconds), fewer when a slow contender's rounds take seconds.
 */
export interface RoundPolicy {
  /** Rounds to aim for while rounds stay short. */
  readonly minRounds: number;
  readonly maxRounds: number;
  /** Short rounds go on past maxRounds until this much timed work (up to roundCap rounds). */
  readonly minSeconds: number;
  readonly roundCap: number;
  /** Past this much timed work, stop once minRounds are done. */
  readonly softSeconds: number;
  /** Past this much timed work, stop even before minRounds (at least one round always runs). */
  readonly hardSeconds: number;
  /** Records (or derivations) in the warm-up slice that is also cross-validated. */
  readonly warmupRecords: number;
}

export type PresetName = 'full' | 'moderate' | 'quick';

export interface Preset {
  readonly name: PresetName;
  readonly workloads: readonly Workload[];
  readonly rounds: RoundPolicy;
}

const MIB = 1024 * 1024;

function workloads(records3072: number, records256: number, oneCallBytes: number, derivations: number): Workload[] {
  const mib = oneCallBytes / MIB;
  return [
    { kind: 'seal', id: 'seal-3072', title: `AES-256-GCM, ${records3072.toLocaleString('en-US')} × 3072 B`, count: records3072, recordBytes: 3072 },
    { kind: 'seal', id: 'seal-256', title: `AES-256-GCM, ${records256.toLocaleString('en-US')} × 256 B`, count: records256, recordBytes: 256 },
    { kind: 'seal', id: 'seal-64mib', title: `AES-256-GCM, ${mib} MiB in one call`, count: 1, recordBytes: oneCallBytes },
    { kind: 'hkdf', id: 'hkdf-32', title: `HKDF-SHA256, ${derivations.toLocaleString('en-US')} × 32 B`, count: derivations },
  ];
}

/**
 * full: the workloads (`npm run bench`). moderate: `npm start`, under a minute in Node.
 * quick: a CI smoke run that proves every runtime and contender works, not a measurement.
 */
export const PRESETS: Readonly<Record<PresetName, Preset>> = {
  full: {
    name: 'full',
    workloads: workloads(20_000, 100_000, 64 * MIB, 20_000),
    rounds: { minRounds: 3, maxRounds: 5, minSeconds: 1.5, roundCap: 40, softSeconds: 3, hardSeconds: 15, warmupRecords: 1000 },
  },
  moderate: {
    name: 'moderate',
    workloads: workloads(5_000, 20_000, 16 * MIB, 5_000),
    rounds: { minRounds: 3, maxRounds: 5, minSeconds: 0.5, roundCap: 20, softSeconds: 1, hardSeconds: 4, warmupRecords: 500 },
  },
  quick: {
    name: 'quick',
    workloads: workloads(1_000, 5_000, 4 * MIB, 2_000),
    rounds: { minRounds: 1, maxRounds: 2, minSeconds: 0, roundCap: 2, softSeconds: 0.5, hardSeconds: 2, warmupRecords: 200 },
  },
};

/** Inputs of a sealing workload. Record i is sealed under `key` with IV i. */
export interface SealData {
  readonly key: Bytes;
  /** count × 12 bytes packed, as vecseal's sealBatch takes them. */
  readonly ivs: Bytes;
  /** The same IVs as views, as a per-record caller holds them. */
  readonly ivList: readonly Bytes[];
  readonly records: readonly Bytes[];
  readonly plaintextBytes: number;
}

/** Inputs of the HKDF workload. Derivation i is HKDF-SHA256(ikm, salt, infos[i], 32). */
export interface HkdfData {
  readonly ikm: Bytes;
  readonly salt: Bytes;
  /** HKDF-Extract(salt, ikm), the key expand-only contenders start from. */
  readonly prk: Uint8Array;
  readonly infos: readonly Bytes[];
}

export type RandomFill = (bytes: Uint8Array) => void;

/** Fills any length with CSPRNG bytes (getRandomValues takes at most 64 KiB per call). */
export function fillRandom(getRandomValues: (b: Uint8Array) => unknown): RandomFill {
  return (bytes) => {
    for (let at = 0; at < bytes.length; at += RANDOM_CHUNK_BYTES) {
      getRandomValues(bytes.subarray(at, Math.min(bytes.length, at + RANDOM_CHUNK_BYTES)));
    }
  };
}

function random(fill: RandomFill, length: number): Bytes {
  const bytes = new Uint8Array(length);
  fill(bytes);
  return bytes;
}

/** Plaintexts live in one buffer; records are views, as embeddings cut from a model's output tensor are. */
export function makeSealData(w: SealWorkload, fill: RandomFill): SealData {
  const plaintext = random(fill, w.count * w.recordBytes);
  const ivs = random(fill, w.count * IV_BYTES);
  const records: Bytes[] = [];
  const ivList: Bytes[] = [];
  for (let i = 0; i < w.count; i++) {
    records.push(plaintext.subarray(i * w.recordBytes, (i + 1) * w.recordBytes));
    ivList.push(ivs.subarray(i * IV_BYTES, (i + 1) * IV_BYTES));
  }
  return { key: random(fill, KEY_BYTES), ivs, ivList, records, plaintextBytes: plaintext.length };
}

/** Infos read like the per-record contexts an app would use: `vecseal/record/000000042`, 24 bytes each. */
export function makeHkdfData(w: HkdfWorkload, fill: RandomFill, core: Core): HkdfData {
  const ikm = random(fill, KEY_BYTES);
  const salt = random(fill, 32);
  const encoder = new TextEncoder();
  const infos: Bytes[] = [];
  for (let i = 0; i < w.count; i++) {
    const info = encoder.encode(`vecseal/record/${String(i).padStart(9, '0')}`);
    if (info.length !== INFO_BYTES) throw new Error(`info ${i} is ${info.length} bytes, expected ${INFO_BYTES}`);
    infos.push(info);
  }
  return { ikm, salt, prk: core.hkdfExtract(ikm, salt), infos };
}

/** Records [from, to) of a workload's data, as views. */
export function sliceSeal(d: SealData, from: number, to: number): SealData {
  const records = d.records.slice(from, to);
  return {
    key: d.key,
    ivs: d.ivs.subarray(from * IV_BYTES, to * IV_BYTES),
    ivList: d.ivList.slice(from, to),
    records,
    plaintextBytes: records.reduce((n, r) => n + r.length, 0),
  };
}

/** A one-record workload cut to its first `bytes`, so a 64 MiB call can be warmed up cheaply. */
export function truncateSeal(d: SealData, bytes: number): SealData {
  const first = d.records[0]!.subarray(0, bytes);
  return { key: d.key, ivs: d.ivs.subarray(0, IV_BYTES), ivList: d.ivList.slice(0, 1), records: [first], plaintextBytes: first.length };
}

export function sliceHkdf(d: HkdfData, from: number, to: number): HkdfData {
  return { ...d, infos: d.infos.slice(from, to) };
}
