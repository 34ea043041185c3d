import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { encodeComment, encodeFrame, encodeRetry, formatEventId, type EventCursor } from '@herald/sse';
import type { LiveLoss, ReplayResult } from '../broker/event-broker.js';
import { HeraldEvent, type StreamFormat } from '../broker/herald-event.js';
import type { CloseReason } from './stream-counters.js';

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
  /** When the subscriber's token expires (ms), if it has one. */
  tokenExpiresAt: number | undefined;
  /** When the connection is recycled (`max-age`), if ever. */
  maxAgeAt: number | undefined;
}

/** What a subscription needs from the registry that owns it. */
export interface SubscriptionHost {
  /** A coarse clock, refreshed by the registry's ticker and at each dispatch. */
  readonly now: number;
  /** Counts dispatch turns: the slow-consumer check looks at what was left unsent before this turn. */
  readonly turn: number;
  readonly retryMs: number;
  readonly maxQueueBytes: number;
  readonly heartbeatIntervalMs: number;
  replay(topics: readonly string[], cursor: EventCursor | null): Promise<ReplayResult>;
  onClosed(subscription: Subscription, reason: CloseReason): void;
  /** Events written from the backlog (replay and catch-up), outside live dispatch. */
  onBacklogWritten(count: number, bytes: number): void;
}

type State = 'waiting' | 'catching-up' | 'live' | 'closed';

const HEARTBEAT = encodeComment('hb');

/** Wraps a frame as one HTTP/1.1 chunk when the response is chunked. */
function framed(text: string, chunked: boolean): Buffer {
  const body = Buffer.from(text, 'utf8');
  if (!chunked) return body;
  return Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`, 'latin1'), body, Buffer.from('\r\n', 'latin1')]);
}

/**
 * One SSE connection. Until its headers are out and its replay is written, live
 * events wait in `backlog` (shared event objects, bounded by MAX_QUEUE_BYTES);
 * once live, each event is one socket write of the event's shared bytes.
 * `lastSeq` makes the seam between replay and live exact: an event at or below
 * it has been sent already.
 */
export class Subscription {
  readonly id: string;
  readonly ip: string;
  readonly tenant: string | undefined;
  readonly topics: readonly string[];
  readonly format: StreamFormat;
  readonly startedAt: number;
  messages = 0;
  bytes = 0;
  lastWriteAt: number;
  state: State = 'waiting';
  closeReason: CloseReason | undefined;
  corked = false;

  private lastSeq = 0;
  /** Id of the last event written (or the client's Last-Event-ID until then), echoed in a mid-stream reset. */
  private lastId: string | undefined;
  private turn = -1;
  private unsentAtTurnStart = 0;
  private readonly cursor: EventCursor | null;
  private readonly lastEventId: string | undefined;
  private readonly tokenExpiresAt: number | undefined;
  private readonly maxAgeAt: number | undefined;
  private backlog: (HeraldEvent | LiveLoss)[] = [];
  private backlogIndex = 0;
  private liveBacklogBytes = 0;
  private res: ServerResponse | undefined;
  private socket: Socket | undefined;
  private chunked = true;
  private complete: (() => void) | undefined;
  private readonly pumpOnDrain = (): void => this.pump();

  constructor(
    init: SubscriptionInit,
    private readonly host: SubscriptionHost,
  ) {
    this.id = init.id;
    this.ip = init.ip;
    this.tenant = init.tenant;
    this.topics = init.topics;
    this.format = init.format;
    this.cursor = init.cursor;
    this.lastEventId = init.lastEventId;
    this.lastId = init.lastEventId;
    this.tokenExpiresAt = init.tokenExpiresAt;
    this.maxAgeAt = init.maxAgeAt;
    this.startedAt = host.now;
    this.lastWriteAt = host.now;
  }

  /** Bytes written to the socket that the client has not taken yet. */
  get unsentBytes(): number {
    return this.socket ? this.socket.writableLength : 0;
  }

  /**
   * Called when Nest commits the response: write the headers, `retry:`, the
   * replay (or `reset`), then whatever arrived live meanwhile.
   */
  start(res: ServerResponse, statusCode: number, headers: OutgoingHttpHeaders, complete: () => void): void {
    this.complete = complete;
    if (this.state === 'closed') {
      complete();
      return;
    }
    res.writeHead(statusCode, headers);
    if (res.req.method === 'HEAD') {
      // The head is the whole answer: a stream byte written to the socket would corrupt the next response.
      res.end();
      this.close('client');
      return;
    }
    res.flushHeaders();
    this.res = res;
    this.socket = res.socket ?? undefined;
    this.chunked = res.chunkedEncoding;
    this.state = 'catching-up';
    this.writeControl(encodeRetry(this.host.retryMs));
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
    this.liveBacklogBytes += event.frame(this.format).length;
    if (this.liveBacklogBytes > this.host.maxQueueBytes) this.close('slow-consumer');
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
    if (this.state === 'live' && this.socket) {
      this.socket.cork();
      this.corked = true;
    }
  }

  uncork(): void {
    if (this.corked) {
      this.corked = false;
      this.socket?.uncork();
    }
  }

  /** Timer-wheel work: recycle, expire, or keep the stream visibly alive. */
  tick(now: number): void {
    if (this.state === 'closed') return;
    if (this.tokenExpiresAt !== undefined && now >= this.tokenExpiresAt) this.close('token-expired');
    else if (this.maxAgeAt !== undefined && now >= this.maxAgeAt) this.close('max-age');
    else if (
      this.state !== 'waiting' &&
      now - this.lastWriteAt >= this.host.heartbeatIntervalMs &&
      this.socket &&
      this.socket.writableLength === 0
    ) {
      this.writeControl(HEARTBEAT);
    }
  }

  /**
   * Herald ends the stream: `event: close` with the reason (and, when given, a
   * `retry:` for this connection), then the response ends. `client` means the
   * client went away: nothing is written.
   */
  close(reason: CloseReason, retryMs?: number): void {
    if (this.state === 'closed') return;
    const started = this.state !== 'waiting';
    this.state = 'closed';
    this.closeReason = reason;
    this.backlog = [];
    this.socket?.removeListener('drain', this.pumpOnDrain);
    if (reason !== 'client' && started && this.socket && !this.socket.destroyed) {
      this.uncork();
      this.writeControl(encodeFrame({ event: 'close', retry: retryMs, data: JSON.stringify({ reason }) }));
      if (reason === 'slow-consumer') {
        // It is not reading: give the close frame a moment, then free the buffers.
        const socket = this.socket;
        setTimeout(() => socket.destroy(), 1_000).unref();
      }
    }
    this.host.onClosed(this, reason);
    this.complete?.();
  }

  private replayed(result: ReplayResult | null): void {
    if (this.state === 'closed') return;
    if (result === null || result.reset) {
      const head = result?.head ?? null;
      this.lastSeq = result?.headSeq ?? this.lastSeq;
      // The reset frame carries the head id, so a reconnect right after it resumes from here.
      this.writeControl(
        encodeFrame({
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
    if (this.state === 'closed' || !this.socket) return;
    const highWater = Math.min(this.host.maxQueueBytes / 2, 256 * 1024);
    let count = 0;
    let bytes = 0;
    while (this.backlogIndex < this.backlog.length) {
      if (this.socket.writableLength >= highWater) {
        this.host.onBacklogWritten(count, bytes);
        this.socket.once('drain', this.pumpOnDrain);
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
    const socket = this.socket;
    if (event.seq <= this.lastSeq || !socket || socket.destroyed) return 0;
    // A burst may exceed MAX_QUEUE_BYTES for a moment (its frames are shared Buffers, not
    // copies); a consumer is slow when bytes are still unsent at the start of a later turn.
    if (this.turn !== this.host.turn) {
      this.turn = this.host.turn;
      this.unsentAtTurnStart = socket.writableLength;
    }
    if (this.unsentAtTurnStart > this.host.maxQueueBytes) {
      this.close('slow-consumer');
      return 0;
    }
    const bytes = this.chunked ? event.chunk(this.format) : event.frame(this.format);
    this.lastSeq = event.seq;
    this.lastId = event.id;
    socket.write(bytes);
    const size = event.frame(this.format).length;
    this.messages++;
    this.bytes += size;
    this.lastWriteAt = this.host.now;
    return size;
  }

  /** Every affected stream hears of a loss; its resume id never moves back past what it was sent. */
  private writeLoss(loss: LiveLoss): void {
    const id = this.lastSeq > loss.seq && this.lastId !== undefined ? this.lastId : formatEventId(loss.epoch, loss.seq);
    this.writeControl(
      encodeFrame({
        id,
        event: 'reset',
        data: JSON.stringify({ reason: 'history-lost', lastEventId: this.lastId ?? null }),
      }),
    );
    this.lastSeq = Math.max(this.lastSeq, loss.seq);
    this.lastId = id;
  }

  private writeControl(text: string): void {
    const socket = this.socket;
    if (!socket || socket.destroyed) return;
    socket.write(framed(text, this.chunked));
    this.bytes += Buffer.byteLength(text);
    this.lastWriteAt = this.host.now;
  }
}
