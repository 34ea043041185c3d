const SAMPLES = 256;

/**
 * Herald's clock as seen from here, for the subscribe cut-off. Each live
 * event gives `received − ts` = clock offset + transit time, so the smallest
 * recent sample over-estimates the offset by the fastest transit only: a time
 * converted with it is never later than the true server time, and a cut-off
 * based on it never drops an event published after the subscription.
 */
export class ServerClock {
  private readonly samples: number[] = [];
  private next = 0;
  private headerOffset: number | undefined;

  /** One event received at local time `receivedAt` that Herald stamped `ts`. */
  observe(receivedAt: number, ts: number): void {
    if (!Number.isFinite(ts)) return;
    const offset = receivedAt - ts;
    if (this.samples.length < SAMPLES) this.samples.push(offset);
    else this.samples[this.next] = offset;
    this.next = (this.next + 1) % SAMPLES;
  }

  /** The response's `Date` header (whole seconds, rounded down): the offset is at most this. */
  observeDateHeader(receivedAt: number, date: string | null): void {
    const serverTime = date === null ? NaN : Date.parse(date);
    if (!Number.isNaN(serverTime)) this.headerOffset = receivedAt - serverTime;
  }

  /** Local time → server time (never later than the truth), or undefined before any sample. */
  toServer(localTime: number): number | undefined {
    const offset = this.samples.length > 0 ? Math.min(...this.samples) : this.headerOffset;
    return offset === undefined ? undefined : localTime - offset;
  }
}
