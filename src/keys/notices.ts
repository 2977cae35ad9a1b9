/**
 * State-change notices between clients of the same origin (other tabs, workers, other clients in
 * this page or process) over a BroadcastChannel: when one client suspends, rotates or destroys a
 * DEK, the others evict it from their workers at once instead of at their next store read.
 */
import type { DekState } from '../store/store.js';

export interface KeyNotice {
  dekId: string;
  version: number;
  state: DekState;
}

function isNotice(value: unknown): value is KeyNotice {
  const v = value as KeyNotice;
  return v !== null && typeof v === 'object' && typeof v.dekId === 'string' && Number.isInteger(v.version) && typeof v.state === 'string';
}

export class KeyNotices {
  readonly #channel: BroadcastChannel;

  private constructor(channel: BroadcastChannel, onNotice: (notice: KeyNotice) => void) {
    this.#channel = channel;
    channel.onmessage = (event: MessageEvent) => {
      if (isNotice(event.data)) onNotice(event.data);
    };
    (channel as { unref?: () => void }).unref?.(); // Node: do not keep the process alive
  }

  /** undefined where the runtime has no BroadcastChannel. */
  static open(name: string, onNotice: (notice: KeyNotice) => void): KeyNotices | undefined {
    if (typeof BroadcastChannel === 'undefined') return undefined;
    return new KeyNotices(new BroadcastChannel(name), onNotice);
  }

  post(notice: KeyNotice): void {
    this.#channel.postMessage({ dekId: notice.dekId, version: notice.version, state: notice.state });
  }

  close(): void {
    this.#channel.close();
  }
}
