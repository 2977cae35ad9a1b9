/**
 * The synchronous wrappers behind `vecseal/core`: argument checks, layout of each call's inputs in
 * linear memory (one copy in, one copy out per chunk), chunking to bound memory, and the wipe of
 * everything the call touched. Algorithms live in assembly/; this file only moves bytes.
 */
import { AuthenticationError, InvalidInputError } from '../errors.js';
import { Arena } from './_arena.js';
import { FixedList, ItemList, MAX_TOTAL_BYTES, requireBytes, requireInteger, requireLength } from './_bytes.js';
import type { CoreExports } from './_instance.js';
import type { BatchKeying, ByteList, Core, OpenBatchInput, OpenBatchResult, PackedBytes, SealBatchInput } from './types.js';

export const KEY_BYTES = [16, 32] as const;
export const IV_BYTES = 12;
export const TAG_BYTES = 16;
export const HASH_BYTES = 32;
export const HKDF_MAX_BYTES = 255 * HASH_BYTES;
/** Working memory one batch chunk may use (inputs, outputs and tables together). */
export const CHUNK_BYTES = 1024 * 1024;
/** Piece size for messages streamed through memory (a multiple of 16, as the GCM state needs). */
export const STREAM_PIECE_BYTES = 256 * 1024;
const DESC_BYTES = 32;

export class WasmCore implements Core {
  private readonly x: CoreExports;
  private readonly arena: Arena;

  constructor(exports: CoreExports) {
    this.x = exports;
    this.arena = new Arena(exports);
  }

  aesGcmEncrypt(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Uint8Array {
    requireLength('key', key, KEY_BYTES);
    requireLength('iv', iv, [IV_BYTES]);
    requireBytes('plaintext', plaintext);
    if (aad !== undefined) requireBytes('aad', aad);
    if (plaintext.length > MAX_TOTAL_BYTES - TAG_BYTES) throw new InvalidInputError('plaintext must be shorter than 4 GiB');
    const out = new Uint8Array(plaintext.length + TAG_BYTES);
    this.sealOne(key, iv, plaintext, aad, out);
    return out;
  }

  aesGcmDecrypt(key: Uint8Array, iv: Uint8Array, ciphertextAndTag: Uint8Array, aad?: Uint8Array): Uint8Array {
    requireLength('key', key, KEY_BYTES);
    requireLength('iv', iv, [IV_BYTES]);
    requireBytes('ciphertextAndTag', ciphertextAndTag);
    if (aad !== undefined) requireBytes('aad', aad);
    if (ciphertextAndTag.length < TAG_BYTES) {
      throw new InvalidInputError(`ciphertextAndTag must be at least ${TAG_BYTES} bytes (the tag); got ${ciphertextAndTag.length} bytes`);
    }
    const out = new Uint8Array(ciphertextAndTag.length - TAG_BYTES);
    if (!this.openOne(key, iv, ciphertextAndTag, aad, out)) throw new AuthenticationError();
    return out;
  }

  sha256(message: Uint8Array): Uint8Array {
    requireBytes('message', message);
    const out = new Uint8Array(HASH_BYTES);
    const { x } = this;
    this.digestInto(out, message, () => x.sha256Begin(), (p, n) => x.sha256Absorb(p, n), (o) => x.sha256End(o));
    return out;
  }

  hmacSha256(key: Uint8Array, message: Uint8Array): Uint8Array {
    requireBytes('key', key);
    requireBytes('message', message);
    const out = new Uint8Array(HASH_BYTES);
    this.hmacInto(key, message, out);
    return out;
  }

  hkdfExtract(ikm: Uint8Array, salt: Uint8Array): Uint8Array {
    requireBytes('ikm', ikm);
    requireBytes('salt', salt);
    return this.hmacSha256(salt, ikm);
  }

  hkdfExpand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
    requireBytes('prk', prk);
    if (prk.length < HASH_BYTES) throw new InvalidInputError(`prk must be at least ${HASH_BYTES} bytes (RFC 5869); got ${prk.length} bytes`);
    requireBytes('info', info);
    requireInteger('length', length, 0, HKDF_MAX_BYTES);
    if (info.length > CHUNK_BYTES) throw new InvalidInputError(`info must be at most ${CHUNK_BYTES} bytes; got ${info.length} bytes`);
    const out = new Uint8Array(length);
    const { x, arena } = this;
    try {
      const p = arena.put(prk);
      const i = arena.put(info);
      const o = arena.alloc(length);
      x.hkdfSha256Expand(p, prk.length, i, info.length, o, length);
      out.set(arena.u8.subarray(o, o + length));
    } finally {
      x.wipe();
      arena.wipe();
    }
    return out;
  }

  hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
    requireBytes('ikm', ikm);
    requireBytes('salt', salt);
    requireBytes('info', info);
    requireInteger('length', length, 0, HKDF_MAX_BYTES);
    const prk = new Uint8Array(HASH_BYTES);
    try {
      this.hmacInto(salt, ikm, prk);
      return this.hkdfExpand(prk, info, length);
    } finally {
      prk.fill(0);
    }
  }

  hkdfExpandBatch(prk: Uint8Array, infos: ByteList, length: number): Uint8Array {
    requireBytes('prk', prk);
    if (prk.length < HASH_BYTES) throw new InvalidInputError(`prk must be at least ${HASH_BYTES} bytes (RFC 5869); got ${prk.length} bytes`);
    const list = new ItemList('infos', infos);
    requireInteger('length', length, 0, HKDF_MAX_BYTES);
    if (list.count * length > MAX_TOTAL_BYTES) throw new InvalidInputError('count x length must be below 4 GiB; split the batch');
    for (let i = 0; i < list.count; i++) {
      if (list.length(i) > CHUNK_BYTES) throw new InvalidInputError(`infos[${i}] must be at most ${CHUNK_BYTES} bytes; got ${list.length(i)} bytes`);
    }
    const out = new Uint8Array(list.count * length);
    const { x, arena } = this;
    let from = 0;
    while (from < list.count) {
      // Grow the chunk while its infos, outputs and table fit the working budget (at least one).
      let to = from;
      let bytes = 0;
      while (to < list.count) {
        const need = list.length(to) + length + 8;
        if (to > from && bytes + need > CHUNK_BYTES) break;
        bytes += need;
        to++;
      }
      try {
        const n = to - from;
        const p = arena.put(prk);
        const desc = arena.alloc(n * 8);
        const infoBase = arena.alloc(bytes);
        const infoBytes = list.copyRange(arena.u8, infoBase, from, to);
        const o = arena.alloc(n * length);
        const u32 = arena.u32;
        let ptr = infoBase;
        for (let i = 0; i < n; i++) {
          const len = list.length(from + i);
          u32[(desc >>> 2) + 2 * i] = ptr;
          u32[(desc >>> 2) + 2 * i + 1] = len;
          ptr += len;
        }
        if (ptr - infoBase !== infoBytes) throw new Error('internal: info layout mismatch');
        x.hkdfSha256ExpandBatch(p, prk.length, desc, n, length, o);
        out.set(arena.u8.subarray(o, o + n * length), from * length);
      } finally {
        x.wipe();
        arena.wipe();
      }
      from = to;
    }
    return out;
  }

  sealBatch(input: SealBatchInput): PackedBytes {
    if (input === null || typeof input !== 'object') throw new InvalidInputError('sealBatch expects { key | keys, ivs, plaintexts, aad | aads }');
    const data = new ItemList('plaintexts', input.plaintexts);
    const plan = this.planBatch(input, data.count);
    const offsets = new Uint32Array(data.count + 1);
    let total = 0;
    for (let i = 0; i < data.count; i++) {
      total += data.length(i) + TAG_BYTES;
      if (total > MAX_TOTAL_BYTES) throw new InvalidInputError('sealed batch must be below 4 GiB; split the batch');
      offsets[i + 1] = total;
    }
    const bytes = new Uint8Array(total);
    this.runChunks(data, plan, (from, to, base) => this.sealChunk(data, plan, from, to, bytes, offsets, base), (i) => {
      const out = bytes.subarray(offsets[i]!, offsets[i + 1]!);
      const key = plan.key(i);
      try {
        this.sealOne(key, plan.iv(i), data.item(i), plan.aad(i), out);
      } finally {
        if (key !== plan.single) key.fill(0);
      }
    });
    return { bytes, offsets };
  }

  openBatch(input: OpenBatchInput): OpenBatchResult {
    if (input === null || typeof input !== 'object') throw new InvalidInputError('openBatch expects { key | keys, ivs, ciphertexts, aad | aads }');
    const data = new ItemList('ciphertexts', input.ciphertexts);
    const plan = this.planBatch(input, data.count);
    const offsets = new Uint32Array(data.count + 1);
    const ok = new Uint8Array(data.count);
    let total = 0;
    for (let i = 0; i < data.count; i++) {
      total += Math.max(0, data.length(i) - TAG_BYTES);
      offsets[i + 1] = total;
    }
    const bytes = new Uint8Array(total);
    this.runChunks(data, plan, (from, to, base) => this.openChunk(data, plan, from, to, bytes, offsets, ok, base), (i) => {
      const out = bytes.subarray(offsets[i]!, offsets[i + 1]!);
      const key = plan.key(i);
      try {
        ok[i] = this.openOne(key, plan.iv(i), data.item(i), plan.aad(i), out) ? 1 : 0;
      } finally {
        if (key !== plan.single) key.fill(0);
      }
    });
    let rejected = 0;
    for (let i = 0; i < ok.length; i++) rejected += 1 - ok[i]!;
    return { plaintexts: { bytes, offsets }, ok, rejected };
  }

  /** @internal Used by linearMemorySnapshot for the test that scans memory for leftovers. */
  snapshotMemory(): Uint8Array {
    return new Uint8Array(this.x.memory.buffer).slice();
  }

  // ---- internals ----

  /** Validates the keying fields of a batch and returns accessors for them. */
  private planBatch(input: BatchKeying, count: number): BatchPlan {
    if ((input.key === undefined) === (input.keys === undefined)) {
      throw new InvalidInputError('give exactly one of key (one key for all records) or keys (one per record)');
    }
    if (input.aad !== undefined && input.aads !== undefined) throw new InvalidInputError('give at most one of aad or aads');
    const single = input.key !== undefined ? requireLength('key', input.key, KEY_BYTES) : undefined;
    const keys = input.keys !== undefined ? new FixedList('keys', input.keys, count, KEY_BYTES) : undefined;
    const ivs = new FixedList('ivs', input.ivs, count, [IV_BYTES]);
    const sharedAad = input.aad !== undefined ? requireBytes('aad', input.aad) : undefined;
    const aads = input.aads !== undefined ? new ItemList('aads', input.aads) : undefined;
    if (aads && aads.count !== count) throw new InvalidInputError(`aads must have one entry per record (${count}); got ${aads.count}`);
    const keyLength = single ? single.length : keys!.width;
    return {
      single,
      keys,
      ivs,
      sharedAad,
      aads,
      keyLength,
      aadLength: (i) => (aads ? aads.length(i) : 0),
      boundAadLength: (i) => (aads ? aads.length(i) : sharedAad ? sharedAad.length : 0),
      key: (i) => {
        if (single) return single;
        const k = new Uint8Array(keyLength);
        keys!.copyRange(k, 0, i, i + 1);
        return k;
      },
      iv: (i) => {
        const iv = new Uint8Array(IV_BYTES);
        ivs.copyRange(iv, 0, i, i + 1);
        return iv;
      },
      aad: (i) => (aads ? aads.item(i) : sharedAad),
    };
  }

  /**
   * Groups records into chunks whose working set fits CHUNK_BYTES; a record too large for a chunk of
   * its own is streamed through memory by `single`.
   */
  private runChunks(
    data: ItemList,
    plan: BatchPlan,
    chunk: (from: number, to: number, dataBytes: number) => void,
    single: (i: number) => void,
  ): void {
    const perRecordFixed = DESC_BYTES + IV_BYTES + (plan.keys ? plan.keyLength : 0) + TAG_BYTES + 1;
    const fixed = plan.keyLength + (plan.sharedAad ? plan.sharedAad.length : 0);
    let i = 0;
    while (i < data.count) {
      const own = 2 * data.length(i) + plan.aadLength(i) + perRecordFixed;
      if (fixed + own > CHUNK_BYTES) {
        single(i);
        i++;
        continue;
      }
      const from = i;
      let bytes = fixed;
      let dataBytes = 0;
      while (i < data.count) {
        const need = 2 * data.length(i) + plan.aadLength(i) + perRecordFixed;
        if (bytes + need > CHUNK_BYTES) break;
        bytes += need;
        dataBytes += data.length(i);
        i++;
      }
      chunk(from, i, dataBytes);
    }
  }

  /**
   * Lays out one chunk: descriptor table, keys, IVs, AADs, input bytes and output bytes, each
   * region written with one copy. Returns the addresses the descriptor fill needs.
   */
  private layoutChunk(data: ItemList, plan: BatchPlan, from: number, to: number, dataBytes: number, outBytes: number) {
    const { arena } = this;
    const n = to - from;
    const desc = arena.alloc(n * DESC_BYTES);
    const keyBase = plan.single ? arena.put(plan.single) : arena.alloc(n * plan.keyLength);
    if (plan.keys) plan.keys.copyRange(arena.u8, keyBase, from, to);
    const ivBase = arena.alloc(n * IV_BYTES);
    plan.ivs.copyRange(arena.u8, ivBase, from, to);
    let aadBase: number;
    if (plan.aads) {
      let aadBytes = 0;
      for (let i = from; i < to; i++) aadBytes += plan.aads.length(i);
      aadBase = arena.alloc(aadBytes);
      plan.aads.copyRange(arena.u8, aadBase, from, to);
    } else {
      aadBase = plan.sharedAad ? arena.put(plan.sharedAad) : arena.alloc(0);
    }
    const src = arena.alloc(dataBytes);
    data.copyRange(arena.u8, src, from, to);
    const dst = arena.alloc(outBytes);
    return { desc, keyBase, ivBase, aadBase, src, dst };
  }

  private sealChunk(data: ItemList, plan: BatchPlan, from: number, to: number, out: Uint8Array, offsets: Uint32Array, dataBytes: number): void {
    const { x, arena } = this;
    const n = to - from;
    const outStart = offsets[from]!;
    const outBytes = offsets[to]! - outStart;
    try {
      const l = this.layoutChunk(data, plan, from, to, dataBytes, outBytes);
      const u32 = arena.u32;
      let s = l.src;
      let a = l.aadBase;
      for (let k = 0; k < n; k++) {
        const i = from + k;
        const len = data.length(i);
        const aadLen = plan.boundAadLength(i);
        const d = l.dst + (offsets[i]! - outStart);
        writeDescriptor(u32, l.desc, k, [s, d, len, a, aadLen, l.ivBase + k * IV_BYTES, plan.single ? l.keyBase : l.keyBase + k * plan.keyLength, d + len]);
        s += len;
        if (plan.aads) a += aadLen;
      }
      const r = x.sealBatch(l.desc, n, plan.keyLength);
      if (r !== 0) throw new InvalidInputError(`key length ${plan.keyLength} rejected by the core`);
      out.set(arena.u8.subarray(l.dst, l.dst + outBytes), outStart);
    } finally {
      x.wipe();
      arena.wipe();
    }
  }

  private openChunk(
    data: ItemList,
    plan: BatchPlan,
    from: number,
    to: number,
    out: Uint8Array,
    offsets: Uint32Array,
    ok: Uint8Array,
    dataBytes: number,
  ): void {
    const { x, arena } = this;
    const n = to - from;
    const outStart = offsets[from]!;
    const outBytes = offsets[to]! - outStart;
    try {
      const l = this.layoutChunk(data, plan, from, to, dataBytes, outBytes);
      const status = arena.alloc(n);
      const u32 = arena.u32;
      // Records shorter than a tag cannot be authentic: they get no descriptor and stay rejected.
      let s = l.src;
      let a = l.aadBase;
      let m = 0;
      const index: number[] = [];
      for (let k = 0; k < n; k++) {
        const i = from + k;
        const len = data.length(i);
        const aadLen = plan.boundAadLength(i);
        if (len >= TAG_BYTES) {
          const key = plan.single ? l.keyBase : l.keyBase + k * plan.keyLength;
          writeDescriptor(u32, l.desc, m, [s, l.dst + (offsets[i]! - outStart), len - TAG_BYTES, a, aadLen, l.ivBase + k * IV_BYTES, key, s + len - TAG_BYTES]);
          index.push(i);
          m++;
        }
        s += len;
        if (plan.aads) a += aadLen;
      }
      const r = x.openBatch(l.desc, m, plan.keyLength, status);
      if (r < 0) throw new InvalidInputError(`key length ${plan.keyLength} rejected by the core`);
      const mem = arena.u8;
      for (let k = 0; k < m; k++) ok[index[k]!] = mem[status + k]!;
      out.set(mem.subarray(l.dst, l.dst + outBytes), outStart);
    } finally {
      x.wipe();
      arena.wipe();
    }
  }

  /** Seals one message of any size into out (length + 16), streaming it through memory. */
  private sealOne(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array | undefined, out: Uint8Array): void {
    const { x, arena } = this;
    try {
      this.streamGcm(key, iv, aad, plaintext, out, (p, n) => x.gcmEncryptUpdate(p, p, n));
      const t = arena.alloc(TAG_BYTES);
      x.gcmEndEncrypt(t);
      out.set(arena.u8.subarray(t, t + TAG_BYTES), plaintext.length);
    } finally {
      x.wipe();
      arena.wipe();
    }
  }

  /**
   * Opens one message of any size into out (length - 16). Returns false, with out zeroed, if the tag
   * does not verify or the input is shorter than a tag.
   */
  private openOne(key: Uint8Array, iv: Uint8Array, input: Uint8Array, aad: Uint8Array | undefined, out: Uint8Array): boolean {
    if (input.length < TAG_BYTES) return false;
    const { x, arena } = this;
    const len = input.length - TAG_BYTES;
    let ok = false;
    try {
      this.streamGcm(key, iv, aad, input.subarray(0, len), out, (p, n) => x.gcmDecryptUpdate(p, p, n));
      ok = x.gcmEndDecrypt(arena.put(input.subarray(len))) === 1;
    } finally {
      if (!ok) out.fill(0);
      x.wipe();
      arena.wipe();
    }
    return ok;
  }

  /**
   * Starts a GCM message, absorbs the AAD, and passes the input through `update` piece by piece
   * (in place in linear memory), copying each processed piece to out. The caller ends the message.
   */
  private streamGcm(
    key: Uint8Array,
    iv: Uint8Array,
    aad: Uint8Array | undefined,
    input: Uint8Array,
    out: Uint8Array,
    update: (ptr: number, len: number) => void,
  ): void {
    const { x, arena } = this;
    const k = arena.put(key);
    const v = arena.put(iv);
    if (x.gcmBegin(k, key.length, v) !== 0) throw new InvalidInputError(`key must be 16 or 32 bytes; got ${key.length} bytes`);
    if (aad) this.absorb(aad, (p, n) => x.gcmAddAad(p, n));
    const piece = arena.alloc(Math.min(STREAM_PIECE_BYTES, input.length));
    for (let off = 0; off < input.length; off += STREAM_PIECE_BYTES) {
      const n = Math.min(STREAM_PIECE_BYTES, input.length - off);
      arena.u8.set(input.subarray(off, off + n), piece);
      update(piece, n);
      out.set(arena.u8.subarray(piece, piece + n), off);
    }
  }

  private hmacInto(key: Uint8Array, message: Uint8Array, out: Uint8Array): void {
    const { x, arena } = this;
    const begin = () => {
      x.hmacBegin(arena.put(key), key.length);
      arena.wipe(); // the key is now only in the module's scratch, as ipad/opad states
    };
    this.digestInto(out, message, begin, (p, n) => x.hmacAbsorb(p, n), (o) => x.hmacEnd(o));
  }

  /** Runs an incremental 32-byte digest (SHA-256 or HMAC) over message and copies it to out. */
  private digestInto(out: Uint8Array, message: Uint8Array, begin: () => void, absorb: (ptr: number, len: number) => void, end: (outPtr: number) => void): void {
    const { x, arena } = this;
    try {
      begin();
      this.absorb(message, absorb);
      const o = arena.alloc(HASH_BYTES);
      end(o);
      out.set(arena.u8.subarray(o, o + HASH_BYTES));
    } finally {
      x.wipe();
      arena.wipe();
    }
  }

  /** Feeds bytes to an incremental absorber in pieces of STREAM_PIECE_BYTES (multiples of 16). */
  private absorb(bytes: Uint8Array, sink: (ptr: number, len: number) => void): void {
    if (bytes.length === 0) return;
    const { arena } = this;
    const piece = arena.alloc(Math.min(STREAM_PIECE_BYTES, bytes.length));
    for (let off = 0; off < bytes.length; off += STREAM_PIECE_BYTES) {
      const n = Math.min(STREAM_PIECE_BYTES, bytes.length - off);
      arena.u8.set(bytes.subarray(off, off + n), piece);
      sink(piece, n);
    }
  }
}

/**
 * Writes descriptor `slot` of the table at descPtr: [src, dst, len, aad, aadLen, iv, key, tag], the
 * layout assembly/batch.ts reads.
 */
function writeDescriptor(u32: Uint32Array, descPtr: number, slot: number, fields: readonly number[]): void {
  u32.set(fields, (descPtr >>> 2) + slot * (DESC_BYTES >>> 2));
}

interface BatchPlan {
  single: Uint8Array | undefined;
  keys: FixedList | undefined;
  ivs: FixedList;
  sharedAad: Uint8Array | undefined;
  aads: ItemList | undefined;
  keyLength: number;
  /** Bytes of per-record AAD that record i adds to a chunk (0 with a shared AAD). */
  aadLength(i: number): number;
  /** Bytes of AAD bound to record i (its own, or the shared one). */
  boundAadLength(i: number): number;
  /** The shared key, or a fresh copy of record i's key that the caller wipes after use. */
  key(i: number): Uint8Array;
  iv(i: number): Uint8Array;
  aad(i: number): Uint8Array | undefined;
}

/** Internal, for tests: a copy of the whole linear memory of a core from loadCore(). */
export function linearMemorySnapshot(core: Core): Uint8Array {
  if (!(core instanceof WasmCore)) throw new InvalidInputError('not a vecseal core');
  return core.snapshotMemory();
}
