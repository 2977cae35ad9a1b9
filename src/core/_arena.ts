/**
 * The working region of the core's linear memory: a bump allocator above the module's static data,
 * the only holder of views on `memory.buffer` (views detach when memory grows), and the wipe that
 * clears every byte a call used before the call returns.
 */
import type { CoreExports } from './_instance.js';

const PAGE_BYTES = 65536;
const ALIGN = 16;

export class Arena {
  private readonly memory: WebAssembly.Memory;
  private readonly base: number;
  private top = 0;
  private highWater = 0;
  private u8View: Uint8Array;
  private u32View: Uint32Array;

  constructor(exports: CoreExports) {
    this.memory = exports.memory;
    this.base = exports.heapBase();
    this.u8View = new Uint8Array(this.memory.buffer);
    this.u32View = new Uint32Array(this.memory.buffer);
  }

  /** A byte view of all of linear memory, recreated if the memory grew since the last call. */
  get u8(): Uint8Array {
    if (this.u8View.buffer !== this.memory.buffer) this.refresh();
    return this.u8View;
  }

  /** A u32 view (little-endian, as WebAssembly is) for writing descriptor tables. */
  get u32(): Uint32Array {
    if (this.u32View.buffer !== this.memory.buffer) this.refresh();
    return this.u32View;
  }

  /** Reserves n bytes (16-byte aligned) and returns their address, growing memory if needed. */
  alloc(n: number): number {
    const ptr = this.base + this.top;
    this.top += Math.ceil(n / ALIGN) * ALIGN;
    const end = this.base + this.top;
    if (end > this.memory.buffer.byteLength) {
      this.memory.grow(Math.ceil((end - this.memory.buffer.byteLength) / PAGE_BYTES));
      this.refresh();
    }
    if (this.top > this.highWater) this.highWater = this.top;
    return ptr;
  }

  /** Copies bytes in and returns their address. */
  put(bytes: Uint8Array): number {
    const ptr = this.alloc(bytes.length);
    this.u8.set(bytes, ptr);
    return ptr;
  }

  /** Zeroes every byte handed out since the last wipe and starts allocating from the base again. */
  wipe(): void {
    if (this.highWater > 0) this.u8.fill(0, this.base, this.base + this.highWater);
    this.top = 0;
    this.highWater = 0;
  }

  private refresh(): void {
    this.u8View = new Uint8Array(this.memory.buffer);
    this.u32View = new Uint32Array(this.memory.buffer);
  }
}
