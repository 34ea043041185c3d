import type { EncodedFrame } from '@herald/nest-sse';
import type { EventCursor } from '@herald/sse';
import type { LiveLoss, ReplayResult } from '../broker/event-broker.js';
import { HeraldEvent, type StreamFormat } from '../broker/herald-event.js';
import type { MemberKey } from '../presence/presence-tracker.js';
import { latestFirst, latestSeam, newestPerTopic, type BacklogEntry } from './backlog.js';
import { historyLostFrame, lossResumeId } from './reset-frames.js';
import type { TurnMark } from './slow-consumer-policy.js';
import { CLOSE_REASONS, type CloseReason } from './stream-counters.js';
import type { FrameSink, SubscriptionHost, SubscriptionInit, SubscriptionStream } from './subscription-contract.js';

export type { FrameSink, SubscriptionHost, SubscriptionInit, SubscriptionStream } from './subscription-contract.js';

/** `conflating`: a conflated stream fell behind and holds the newest event per topic until its socket drains. */
type State = 'catching-up' | 'live' | 'conflating' | 'closed';

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
 * event at or below it has been sent already. `since=latest` is a replay of
 * each topic's newest event, read with the head in one atomic step.
 *
 * A conflated stream that falls behind (`unsentLimit`) leaves `live` for
 * `conflating`: it keeps the newest event per topic and writes them, in id
 * order, when the socket drains; streams that keep up never leave `live`, so
 * the hot path is the same for both.
 *
 * This file is that one state machine, whose fields the hot path reads
 * directly; its pure parts are in `backlog.ts` and `reset-frames.ts`, its
 * contract with the registry and the writer in `subscription-contract.ts`.
 */
export class Subscription implements TurnMark {
  readonly id: string;
  readonly ip: string;
  readonly tenant: string | undefined;
  readonly topics: readonly string[];
  readonly format: StreamFormat;
  readonly member: MemberKey | undefined;
  readonly presence: boolean;
  readonly startedAt = Date.now();
  messages = 0;
  bytes = 0;
  state: State = 'catching-up';
  corked = false;
  turn = -1;
  unsentAtTurnStart = 0;
  readonly unsentLimit: number;

  private lastSeq = 0;
  /** Id of the last event written (or the client's Last-Event-ID until then), echoed in a mid-stream reset. */
  private lastId: string | undefined;
  private readonly cursor: EventCursor | null;
  private readonly lastEventId: string | undefined;
  private readonly latest: boolean;
  private readonly conflate: boolean;
  /** While conflating: the newest held event of each topic. */
  private pending = new Map<string, HeraldEvent>();
  private backlog: BacklogEntry[] = [];
  private backlogIndex = 0;
  private liveBacklogBytes = 0;
  private stopWaiting: (() => void) | undefined;
  /** `presence=1`: the count last sent per topic. */
  private presenceSent: Map<string, number> | undefined;

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
    this.member = init.member;
    this.presence = init.presence;
    this.cursor = init.cursor;
    this.lastEventId = init.lastEventId;
    this.lastId = init.lastEventId;
    this.latest = init.latest;
    this.conflate = init.conflate;
    this.unsentLimit = host.slowConsumers.liveLimit(init.conflate);
  }

  /** Bytes written to the socket that the client has not taken yet. */
  get unsentBytes(): number {
    return this.stream.unsentBytes;
  }

  /** Reads the replay (or finds the `reset`); live events that arrive meanwhile wait in the backlog. */
  start(): void {
    const read =
      this.latest && this.cursor === null ? this.host.latest(this.topics) : this.host.replay(this.topics, this.cursor);
    read.then(
      (result) => this.replayed(result),
      () => this.replayed(null),
    );
  }

  /** Offers one event; returns the frame bytes written now (0 if queued or skipped). */
  deliver(event: HeraldEvent): number {
    if (this.state === 'live') return this.write(event);
    if (this.state === 'conflating') {
      this.hold(event);
      return 0;
    }
    if (this.state === 'closed') return 0;
    this.backlog.push(event);
    this.liveBacklogBytes += event.encoded(this.format).size;
    if (this.host.slowConsumers.backlogTooLarge(this.liveBacklogBytes)) {
      if (this.conflate) this.compactBacklog();
      else this.close('slow-consumer');
    }
    return 0;
  }

  /**
   * The live feed skipped history it could not recover (e.g. Redis lost it):
   * in feed order, a `reset` frame whose id is where the feed goes on.
   */
  lose(loss: LiveLoss): void {
    if (this.state === 'closed') return;
    // The held events are older than the loss: they go first, whatever the socket holds (at most one per topic).
    if (this.state === 'conflating') this.release();
    if (this.state === 'live') this.writeLoss(loss);
    else this.backlog.push(loss);
  }

  /**
   * A topic's subscriber count (`presence=1`), written when it differs from the
   * last one sent. Only once live: never before the replay, and not while
   * conflating (the next count, a second later, is sent instead).
   */
  notePresence(topic: string, count: number, frame: () => EncodedFrame): void {
    if (this.state !== 'live') return;
    const sent = (this.presenceSent ??= new Map());
    if (sent.get(topic) === count) return;
    sent.set(topic, count);
    this.writeControl(frame());
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
    this.pending.clear();
    this.stopWaiting?.();
    this.host.onClosed(this, reason);
    return true;
  }

  private replayed(result: ReplayResult | null): void {
    if (this.state === 'closed') return;
    if (result === null || result.reset) {
      this.lastSeq = result?.headSeq ?? this.lastSeq;
      // A later loss in the live feed must not echo the client's lost id: the resume point is the head now.
      if (result !== null) this.lastId = result.head;
      if (result !== null && this.latest) {
        this.host.latest(this.topics).then(
          (latest) => this.resetToLatest(result, latest),
          () => this.resetToLatest(result, null),
        );
        return;
      }
      this.writeReset(result?.head);
    } else if (this.cursor !== null) {
      this.lastSeq = this.cursor.seq;
      this.backlog = [...result.events, ...this.backlog];
    } else if (this.latest) {
      this.takeLatest(result);
    }
    this.liveBacklogBytes = 0;
    this.pump();
  }

  /** `reset`, then each topic's newest event (just the reset, with the replay's head, if that read failed). */
  private resetToLatest(reset: ReplayResult, latest: ReplayResult | null): void {
    if (this.state === 'closed') return;
    if (latest === null) {
      this.writeReset(reset.head);
    } else {
      this.lastId = latest.head;
      // With events to follow the reset has no id: a reconnect before them resets again and gets them.
      this.writeReset(latest.events.length > 0 ? undefined : latest.head);
      this.takeLatest(latest);
    }
    this.liveBacklogBytes = 0;
    this.pump();
  }

  /** The newest events go first; the seam is then exact like a replay's. */
  private takeLatest(latest: ReplayResult): void {
    this.backlog = latestFirst(this.backlog, latest);
    this.lastSeq = latestSeam(latest, this.lastSeq);
  }

  /** The reset frame carries the head id (when given), so a reconnect right after it resumes from here. */
  private writeReset(id: string | undefined): void {
    this.writeControl(historyLostFrame(id, this.lastEventId));
  }

  /** A conflated stream caught up too slowly to hold every live event: the newest per topic stay. */
  private compactBacklog(): void {
    const { kept, dropped } = newestPerTopic(this.backlog.slice(this.backlogIndex), this.lastSeq);
    this.backlog = kept;
    this.backlogIndex = 0;
    this.liveBacklogBytes = 0;
    if (dropped > 0) this.host.onConflated(dropped);
  }

  /** A conflated live stream is behind: from this event on it holds, until the socket drains. */
  private startConflating(event: HeraldEvent): void {
    this.state = 'conflating';
    this.pending.set(event.topic, event);
    this.stopWaiting = this.stream.onceDrained(() => this.release());
  }

  private hold(event: HeraldEvent): void {
    if (this.pending.has(event.topic)) this.host.onConflated(1);
    this.pending.set(event.topic, event);
  }

  /** The socket drained (or a loss must follow): the held events in id order, then live again. */
  private release(): void {
    this.stopWaiting?.();
    this.stopWaiting = undefined;
    if (this.state !== 'conflating') return;
    const held = [...this.pending.values()].sort((a, b) => a.seq - b.seq);
    this.pending.clear();
    this.state = 'live';
    let count = 0;
    let bytes = 0;
    for (const event of held) {
      bytes += this.emit(event);
      count++;
    }
    this.host.onBacklogWritten(count, bytes);
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
      // A conflated stream's backlog is bounded by compaction: the pump's own high water paces it.
      const written = this.conflate ? this.emitNew(entry) : this.write(entry);
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
      if (this.conflate) this.startConflating(event);
      else this.close('slow-consumer');
      return 0;
    }
    return this.emit(event);
  }

  private emitNew(event: HeraldEvent): number {
    return event.seq <= this.lastSeq ? 0 : this.emit(event);
  }

  private emit(event: HeraldEvent): number {
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
    const id = lossResumeId(loss, this.lastSeq, this.lastId);
    this.writeControl(historyLostFrame(id, this.lastId));
    this.lastSeq = Math.max(this.lastSeq, loss.seq);
    this.lastId = id;
  }

  private writeControl(frame: EncodedFrame): void {
    this.out.next(frame);
    this.bytes += frame.size;
  }
}
