import { EncodedFrame, type CloseOptions } from '@herald/nest-sse';
import { formatEventId, type EventCursor } from '@herald/sse';
import type { LiveLoss, ReplayResult } from '../broker/event-broker.js';
import { HeraldEvent, type StreamFormat } from '../broker/herald-event.js';
import type { SlowConsumerPolicy, TurnMark } from './slow-consumer-policy.js';
import { CLOSE_REASONS, type CloseReason } from './stream-counters.js';

export interface SubscriptionInit {
  id: string;
  ip: string;
  tenant: string | undefined;
  topics: readonly string[];
  format: StreamFormat;
  /** The parsed `Last-Event-ID`, null when none was given. */
  cursor: EventCursor | null;
  /** The `Last-Event-ID` as the client sent it (echoed in `reset`). */
  lastEventId: string | undefined;
}

/** What a subscription needs from the registry that owns it. */
export interface SubscriptionHost {
  /** Counts dispatch turns: the slow-consumer check looks at what was left unsent before this turn. */
  readonly turn: number;
  readonly slowConsumers: SlowConsumerPolicy;
  replay(topics: readonly string[], cursor: EventCursor | null): Promise<ReplayResult>;
  onClosed(subscription: Subscription, reason: CloseReason): void;
  /** Events written from the backlog (replay and catch-up), outside live dispatch. */
  onBacklogWritten(count: number, bytes: number): void;
}

/** The stream writer's side a subscription uses: back-pressure, corking, and the end. */
export interface SubscriptionStream {
  readonly unsentBytes: number;
  onceDrained(listener: () => void): () => void;
  cork(): boolean;
  uncork(): void;
  close(reason: string, options?: CloseOptions): void;
}

/** Where a subscription's frames go: the subscriber of the stream's Observable. */
export interface FrameSink {
  next(frame: EncodedFrame): void;
}

type State = 'catching-up' | 'live' | 'closed';

/** A cut slow consumer gets this long to take its close frame, then its connection is destroyed. */
const SLOW_CONSUMER_GRACE_MS = 2_000;

const isCloseReason = (reason: string | undefined): reason is CloseReason =>
  (CLOSE_REASONS as readonly string[]).includes(reason ?? '');

/**
 * One SSE subscription, from the moment its head is out. Until its replay is
 * written, live events wait in `backlog` (shared event objects, bounded by the
 * slow-consumer policy); once live, each event is one frame handed to the
 * stream's Observable, which the writer puts on the socket as the event's
 * shared bytes. `lastSeq` makes the seam between replay and live exact: an
 * event at or below it has been sent already.
 */
export class Subscription implements TurnMark {
  readonly id: string;
  readonly ip: string;
  readonly tenant: string | undefined;
  readonly topics: readonly string[];
  readonly format: StreamFormat;
  readonly startedAt = Date.now();
  messages = 0;
  bytes = 0;
  state: State = 'catching-up';
  corked = false;
  turn = -1;
  unsentAtTurnStart = 0;

  private lastSeq = 0;
  /** Id of the last event written (or the client's Last-Event-ID until then), echoed in a mid-stream reset. */
  private lastId: string | undefined;
  private readonly cursor: EventCursor | null;
  private readonly lastEventId: string | undefined;
  private backlog: (HeraldEvent | LiveLoss)[] = [];
  private backlogIndex = 0;
  private liveBacklogBytes = 0;
  private stopWaiting: (() => void) | undefined;

  constructor(
    init: SubscriptionInit,
    private readonly host: SubscriptionHost,
    private readonly stream: SubscriptionStream,
    private readonly out: FrameSink,
  ) {
    this.id = init.id;
    this.ip = init.ip;
    this.tenant = init.tenant;
    this.topics = init.topics;
    this.format = init.format;
    this.cursor = init.cursor;
    this.lastEventId = init.lastEventId;
    this.lastId = init.lastEventId;
  }

  /** Bytes written to the socket that the client has not taken yet. */
  get unsentBytes(): number {
    return this.stream.unsentBytes;
  }

  /** Reads the replay (or finds the `reset`); live events that arrive meanwhile wait in the backlog. */
  start(): void {
    this.host.replay(this.topics, this.cursor).then(
      (result) => this.replayed(result),
      () => this.replayed(null),
    );
  }

  /** Offers one event; returns the frame bytes written now (0 if queued or skipped). */
  deliver(event: HeraldEvent): number {
    if (this.state === 'live') return this.write(event);
    if (this.state === 'closed') return 0;
    this.backlog.push(event);
    this.liveBacklogBytes += event.encoded(this.format).size;
    if (this.host.slowConsumers.backlogTooLarge(this.liveBacklogBytes)) this.close('slow-consumer');
    return 0;
  }

  /**
   * The live feed skipped history it could not recover (e.g. Redis lost it):
   * in feed order, a `reset` frame whose id is where the feed goes on.
   */
  lose(loss: LiveLoss): void {
    if (this.state === 'closed') return;
    if (this.state === 'live') this.writeLoss(loss);
    else this.backlog.push(loss);
  }

  cork(): void {
    if (this.state === 'live') this.corked = this.stream.cork();
  }

  uncork(): void {
    if (!this.corked) return;
    this.corked = false;
    this.stream.uncork();
  }

  /**
   * Herald ends the stream: the writer sends `event: close` with the reason
   * (and, when given, a `retry:` for this connection), then ends the response.
   */
  close(reason: CloseReason, retryMs?: number): void {
    if (!this.ended(reason)) return;
    this.stream.close(reason, {
      retryMs,
      // A slow consumer's close frame is the last thing queued; if it does not read it soon, it is cut.
      cutAfterMs: reason === 'slow-consumer' ? SLOW_CONSUMER_GRACE_MS : undefined,
    });
  }

  /** The stream ended by the writer's hand (the client left, a deadline, a drain): bookkeeping only. */
  streamEnded(reason: string | undefined): void {
    this.ended(isCloseReason(reason) ? reason : 'client');
  }

  private ended(reason: CloseReason): boolean {
    if (this.state === 'closed') return false;
    this.state = 'closed';
    this.corked = false;
    this.backlog = [];
    this.stopWaiting?.();
    this.host.onClosed(this, reason);
    return true;
  }

  private replayed(result: ReplayResult | null): void {
    if (this.state === 'closed') return;
    if (result === null || result.reset) {
      const head = result?.head ?? null;
      this.lastSeq = result?.headSeq ?? this.lastSeq;
      // A later loss in the live feed must not echo the client's lost id: the resume point is the head now.
      if (head !== null) this.lastId = head;
      // The reset frame carries the head id, so a reconnect right after it resumes from here.
      this.writeControl(
        EncodedFrame.of({
          id: head ?? undefined,
          event: 'reset',
          data: JSON.stringify({ reason: 'history-lost', lastEventId: this.lastEventId ?? null }),
        }),
      );
    } else if (this.cursor !== null) {
      this.lastSeq = this.cursor.seq;
      this.backlog = [...result.events, ...this.backlog];
    }
    this.liveBacklogBytes = 0;
    this.pump();
  }

  /** Writes the backlog as fast as the socket takes it, then goes live. */
  private pump(): void {
    this.stopWaiting = undefined;
    if (this.state === 'closed') return;
    const highWater = this.host.slowConsumers.pumpHighWater;
    let count = 0;
    let bytes = 0;
    while (this.backlogIndex < this.backlog.length) {
      if (this.stream.unsentBytes >= highWater) {
        this.host.onBacklogWritten(count, bytes);
        this.stopWaiting = this.stream.onceDrained(() => this.pump());
        return;
      }
      const entry = this.backlog[this.backlogIndex++];
      if (!(entry instanceof HeraldEvent)) {
        this.writeLoss(entry);
        continue;
      }
      const written = this.write(entry);
      if (written > 0) {
        count++;
        bytes += written;
      }
      if ((this.state as State) === 'closed') return;
    }
    this.host.onBacklogWritten(count, bytes);
    this.backlog = [];
    this.backlogIndex = 0;
    this.liveBacklogBytes = 0;
    this.state = 'live';
  }

  private write(event: HeraldEvent): number {
    if (event.seq <= this.lastSeq) return 0;
    if (this.host.slowConsumers.behind(this, this.host.turn, this.stream.unsentBytes)) {
      this.close('slow-consumer');
      return 0;
    }
    const frame = event.encoded(this.format);
    this.lastSeq = event.seq;
    this.lastId = event.id;
    this.out.next(frame);
    this.messages++;
    this.bytes += frame.size;
    return frame.size;
  }

  /** Every affected stream hears of a loss; its resume id never moves back past what it was sent. */
  private writeLoss(loss: LiveLoss): void {
    const id = this.lastSeq > loss.seq && this.lastId !== undefined ? this.lastId : formatEventId(loss.epoch, loss.seq);
    this.writeControl(
      EncodedFrame.of({
        id,
        event: 'reset',
        data: JSON.stringify({ reason: 'history-lost', lastEventId: this.lastId ?? null }),
      }),
    );
    this.lastSeq = Math.max(this.lastSeq, loss.seq);
    this.lastId = id;
  }

  private writeControl(frame: EncodedFrame): void {
    this.out.next(frame);
    this.bytes += frame.size;
  }
}
