/** Per-stream marks the policy keeps: the dispatch turn last seen and what was unsent when it began. */
export interface TurnMark {
  turn: number;
  unsentAtTurnStart: number;
  /** Unsent bytes past which the stream is behind (`liveLimit`), fixed when it opens. */
  readonly unsentLimit: number;
}

/**
 * When a stream is a slow consumer (MAX_QUEUE_BYTES). A burst may put more
 * than the bound in a socket within one dispatch turn (frames are shared
 * Buffers, not copies), so a live stream is slow only when bytes are still
 * unsent at the start of a later turn. While it catches up (replay), the live
 * events it holds meanwhile are bounded by the same figure. A conflated stream
 * is behind much earlier (`conflateAboveBytes`): it then holds the newest
 * event per topic instead of being cut.
 */
export class SlowConsumerPolicy {
  constructor(readonly maxQueueBytes: number) {}

  /** Bytes the replay pump leaves in the socket before it waits for `drain`. */
  get pumpHighWater(): number {
    return Math.min(this.maxQueueBytes / 2, 256 * 1024);
  }

  /**
   * Unsent bytes past which a conflated stream holds events back: small, so its
   * newest state is never far off, and at or above a socket's highWaterMark
   * (16 KiB on Node 20, 64 KiB later), so a `drain` always follows.
   */
  readonly conflateAboveBytes = 64 * 1024;

  /** The `unsentLimit` of a stream: a conflated one is behind early, any other is slow past MAX_QUEUE_BYTES. */
  liveLimit(conflate: boolean): number {
    return conflate ? this.conflateAboveBytes : this.maxQueueBytes;
  }

  /** Catching up: live events held back past the bound make the stream slow. */
  backlogTooLarge(heldBytes: number): boolean {
    return heldBytes > this.maxQueueBytes;
  }

  /** Live: is the stream behind at this write? `unsent` is its socket's queue now. */
  behind(mark: TurnMark, turn: number, unsent: number): boolean {
    if (mark.turn !== turn) {
      mark.turn = turn;
      mark.unsentAtTurnStart = unsent;
    }
    return mark.unsentAtTurnStart > mark.unsentLimit;
  }
}
