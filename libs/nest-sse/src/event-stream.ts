import { Logger } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Observable, Observer, Subscription } from 'rxjs';
import { encodeComment, encodeRetry } from '@herald/sse';
import { EncodedFrame, toFrame, type StreamItem } from './encoded-frame.js';
import { TimerWheel, type Timed } from './timer-wheel.js';

export interface EventStreamOptions {
  /** `retry:` (ms) written as the first bytes of the body; none when undefined. */
  retryMs?: number;
  /** A `: hb` comment once the stream has been silent this long (ms); 0 for none. */
  heartbeatMs?: number;
}

/** Why a stream ended, when neither the server nor the client gave another reason. */
export const COMPLETED = 'complete';
/** The client went away (or the connection broke). */
export const CLIENT_GONE = 'client';

const HEADERS: Record<string, string> = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
};
const HEARTBEAT = new EncodedFrame(encodeComment('hb'));
const STREAM = Symbol('nest-sse.stream');
const logger = new Logger('EventStream');

type State = 'new' | 'waiting' | 'open' | 'closed';
type WithStream = ServerResponse & { [STREAM]?: EventStream };
/** Express's router continuation, kept on the request for as long as it lives. */
type RoutedRequest = IncomingMessage & { next?: unknown };

let outHeaders: symbol | null | undefined;

/**
 * What a response and its request keep only for the head, released once it
 * is out: the header map Node keeps after sending it, and Express's router
 * continuation with the closures it holds (set, not deleted: a delete would
 * turn the request into a slow dictionary object).
 */
function releaseHeadState(res: ServerResponse): void {
  outHeaders ??= Object.getOwnPropertySymbols(res).find((symbol) => symbol.description === 'kOutHeaders') ?? null;
  if (outHeaders !== null) (res as unknown as Record<symbol, unknown>)[outHeaders] = null;
  const req = res.req as RoutedRequest;
  if (req.next !== undefined) req.next = undefined;
}

/** One listener function for every response (no closure per stream). */
function onResponseClose(this: WithStream): void {
  this[STREAM]?.ended(CLIENT_GONE);
}
/** A server-side socket knows the server that accepted it. */
type ServerSocket = Socket & { server?: object };

/**
 * Every open stream of one HTTP server, and the one timer wheel their
 * heartbeats and deadlines run on. Shutdown asks it for all of them, of every
 * kind, instead of guessing from headers.
 */
export class EventStreams implements Iterable<EventStream> {
  private static readonly byServer = new WeakMap<object, EventStreams>();
  private static readonly detached = new EventStreams();

  readonly wheel = new TimerWheel(100);
  private readonly open = new Set<EventStream>();

  /** The streams of `server` (the `http.Server` a request came in on). */
  static for(server: object | null | undefined): EventStreams {
    if (server === null || server === undefined) return EventStreams.detached;
    let streams = EventStreams.byServer.get(server);
    if (streams === undefined) EventStreams.byServer.set(server, (streams = new EventStreams()));
    return streams;
  }

  get size(): number {
    return this.open.size;
  }

  [Symbol.iterator](): Iterator<EventStream> {
    return this.open.values();
  }

  /** Closes every open stream with `reason`; `retryFor` gives each its own `retry:`. Returns how many. */
  closeAll(reason: string, retryFor?: () => number): number {
    const all = [...this.open];
    for (const stream of all) stream.close(reason, { retryMs: retryFor?.() });
    return all.length;
  }

  /** @internal */
  add(stream: EventStream): void {
    this.open.add(stream);
  }

  /** @internal */
  delete(stream: EventStream): void {
    this.open.delete(stream);
  }
}

export interface CloseOptions {
  /** A `retry:` for this client's reconnect, in the close frame. */
  retryMs?: number;
  /** Destroy the connection if the client has not taken every byte this long after the end (ms). */
  cutAfterMs?: number;
}

/**
 * The one writer of an event stream: the head (status and headers decided by
 * guards and the handler), HTTP/1.1 chunk framing, `retry:`, heartbeats,
 * deadlines, `event: close` and the end. It writes pre-encoded bytes straight
 * to the socket, one write per frame, and holds no timer, Transform stream,
 * AbortController or promise of its own for the life of the stream.
 */
export class EventStream implements Timed, Observer<StreamItem> {
  wheelSlot = -1;
  retryMs: number | undefined;
  heartbeatMs = 0;
  /** Why the stream ended: the reason given to `close()`, `complete`, or `client`. */
  closeReason: string | undefined;

  /** When the last frame or comment was written (ms since the epoch): heartbeats are due from it. */
  private lastWriteAt = 0;
  private state: State = 'new';
  private socket: Socket | null = null;
  private chunked = true;
  private corked = false;
  private closeAt = Infinity;
  private closeAtReason = '';
  private subscription: Subscription | undefined;
  private readonly streams: EventStreams;

  private constructor(readonly res: ServerResponse) {
    const socket = (res.socket ?? (res.req as IncomingMessage | undefined)?.socket) as ServerSocket | null;
    this.streams = EventStreams.for(socket?.server);
    // At once (nestjs/nest#17017): a client that leaves while guards or the handler run is seen.
    res.on('close', onResponseClose);
  }

  /** The stream of a response, created on first use. */
  static of(res: ServerResponse): EventStream {
    const carrier = res as WithStream;
    return (carrier[STREAM] ??= new EventStream(res));
  }

  /** Bytes written that the client has not taken yet. */
  get unsentBytes(): number {
    return this.socket?.writableLength ?? 0;
  }

  /** Fills in options the handler has not set. */
  defaults(options: EventStreamOptions): void {
    if (this.retryMs === undefined) this.retryMs = options.retryMs;
    if (this.heartbeatMs === 0) this.heartbeatMs = options.heartbeatMs ?? 0;
  }

  /** Ends the stream with `event: close` and `reason` at time `at` (ms) unless it ends earlier; the earliest wins. */
  closeAfter(at: number, reason: string): void {
    if (at >= this.closeAt) return;
    this.closeAt = at;
    this.closeAtReason = reason;
    if (this.state === 'open') this.reschedule();
  }

  /**
   * Sends the head, then the Observable's items. A response still queued
   * behind another on its connection (pipelining) starts when its turn comes.
   */
  start(source: Observable<StreamItem>): void {
    if (this.state !== 'new' && this.state !== 'waiting') return;
    const res = this.res;
    if (res.socket === null) {
      this.wait(source);
      return;
    }
    this.writeHead();
    if (res.req.method === 'HEAD') {
      // The head is the whole answer: a body byte would corrupt the next response on the connection.
      res.end();
      this.ended(COMPLETED);
      return;
    }
    this.state = 'open';
    this.streams.add(this);
    this.lastWriteAt = Date.now();
    if (this.retryMs !== undefined) this.raw(new EncodedFrame(encodeRetry(this.retryMs)));
    this.reschedule();
    releaseHeadState(res);
    const subscription = source.subscribe(this);
    if (this.state === 'open') this.subscription = subscription;
    else subscription.unsubscribe();
  }

  /** Observer: an item of the handler's Observable. */
  next(item: StreamItem): void {
    this.write(toFrame(item));
  }

  /** Observer: the Observable failed after the head; the stream ends (an error body cannot follow a head). */
  error(error: unknown): void {
    logger.error({ msg: 'event stream failed', error: error instanceof Error ? error.message : String(error) });
    this.finish(COMPLETED);
  }

  /** Observer: the Observable completed; the response ends. */
  complete(): void {
    this.finish(COMPLETED);
  }

  /** Writes one frame (one socket write of its shared bytes); false when the stream is not open. */
  write(frame: EncodedFrame): boolean {
    const socket = this.socket;
    if (this.state !== 'open' || socket === null || socket.destroyed) return false;
    const now = Date.now();
    if (now >= this.closeAt) {
      // Past its deadline (e.g. an expired token) a stream gets nothing more, even between two ticks.
      this.close(this.closeAtReason);
      return false;
    }
    socket.write(this.chunked ? frame.chunk : frame.bytes);
    this.lastWriteAt = now;
    return true;
  }

  /** Several writes leave in one packet: between `cork()` and `uncork()`. */
  cork(): boolean {
    if (this.state !== 'open' || this.corked || this.socket === null) return false;
    this.socket.cork();
    this.corked = true;
    return true;
  }

  uncork(): void {
    if (!this.corked) return;
    this.corked = false;
    this.socket?.uncork();
  }

  /** Calls `listener` once when the client has taken the bytes queued so far. */
  onceDrained(listener: () => void): () => void {
    const socket = this.socket;
    if (socket === null) return () => {};
    socket.once('drain', listener);
    return () => socket.removeListener('drain', listener);
  }

  /**
   * The server ends the stream: `event: close` with `{"reason"}` (and a
   * `retry:` when given), then the end of the response. The Observable is
   * unsubscribed; its teardown can read `closeReason`.
   */
  close(reason: string, options: CloseOptions = {}): void {
    if (this.state === 'closed') return;
    if (this.state === 'open') {
      this.uncork();
      this.raw(EncodedFrame.of({ event: 'close', retry: options.retryMs, data: JSON.stringify({ reason }) }));
    }
    this.finish(reason, options.cutAfterMs);
  }

  /** Timer wheel: a deadline reached, or a heartbeat due. */
  onTimer(now: number): void {
    if (this.state !== 'open') return;
    if (now >= this.closeAt) {
      this.close(this.closeAtReason);
      return;
    }
    if (this.heartbeatMs > 0 && now - this.lastWriteAt >= this.heartbeatMs) {
      // A socket still busy is visibly alive; the next beat is one interval from now either way.
      if (this.unsentBytes === 0) this.raw(HEARTBEAT);
      this.lastWriteAt = now;
    }
    this.reschedule();
  }

  private wait(source: Observable<StreamItem>): void {
    this.state = 'waiting';
    const res = this.res;
    const gone = (): void => {
      // A queued response never hears of its connection's end: emit it, so slots held for it are given back.
      if (res.socket === null && this.state === 'waiting') {
        this.ended(CLIENT_GONE);
        res.emit('close');
      }
    };
    res.req.socket.once('close', gone);
    res.once('socket', () => {
      res.req.socket.removeListener('close', gone);
      this.start(source);
    });
  }

  private writeHead(): void {
    const res = this.res;
    for (const [name, value] of Object.entries(HEADERS)) if (!res.hasHeader(name)) res.setHeader(name, value);
    if (!res.hasHeader('connection')) res.setHeader('connection', res.shouldKeepAlive ? 'keep-alive' : 'close');
    res.writeHead(res.statusCode);
    this.socket = res.socket;
    this.chunked = res.chunkedEncoding;
    this.socket?.cork();
    res.flushHeaders();
    this.socket?.uncork();
  }

  private raw(frame: EncodedFrame): void {
    const socket = this.socket;
    if (socket === null || socket.destroyed) return;
    socket.write(this.chunked ? frame.chunk : frame.bytes);
    this.lastWriteAt = Date.now();
  }

  private reschedule(): void {
    const heartbeatAt = this.heartbeatMs > 0 ? this.lastWriteAt + this.heartbeatMs : Infinity;
    const due = Math.min(heartbeatAt, this.closeAt);
    if (due === Infinity) this.streams.wheel.cancel(this);
    else this.streams.wheel.schedule(this, due);
  }

  /** The server's end of the stream: the response ends, the Observable is released. */
  private finish(reason: string, cutAfterMs?: number): void {
    const wasOpen = this.state === 'open';
    this.ended(reason);
    const res = this.res;
    if (wasOpen && !res.writableEnded) res.end();
    const socket = this.socket;
    if (cutAfterMs !== undefined && socket !== null && socket.writableLength > 0) {
      const timer = setTimeout(() => socket.destroy(), cutAfterMs);
      timer.unref();
      socket.once('close', () => clearTimeout(timer));
    }
  }

  /**
   * Bookkeeping of the end, whoever ended it: no timer, no registry entry, no
   * subscriber left. Nothing is written.
   * @internal
   */
  ended(reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.closeReason = reason;
    this.uncork();
    this.streams.wheel.cancel(this);
    this.streams.delete(this);
    const subscription = this.subscription;
    this.subscription = undefined;
    subscription?.unsubscribe();
  }
}
