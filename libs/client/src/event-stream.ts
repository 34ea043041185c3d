import type { EventSourceMessage } from 'eventsource-parser';
import { parseEventId, type EventCursor } from '@herald/sse';
import { closeReasonOf, presenceInfoOf, resetInfoOf } from './control-frames.js';
import { decideRetry, type StreamEnd } from './retry-policy.js';
import { readEventSource, readFetchBody, type FrameSink } from './stream-readers.js';
import { envelopeEvent, errorText, streamBodyOf, streamUrl, type Attempt, type StreamEvent } from './stream-wire.js';
import type { ConnectionState, HeraldError, PresenceInfo, ResetInfo, StreamTransport } from './types.js';

export type { StreamEvent } from './stream-wire.js';

export interface EventStreamListener {
  /** Events of one read, in id order; `lastEventId` already points past them. */
  events(batch: StreamEvent[], receivedAt: number): void;
  reset(info: ResetInfo): void;
  /** A `presence` frame (only with `presence=1`); it has no id and never moves `lastEventId`. */
  presence(info: PresenceInfo): void;
  state(state: ConnectionState): void;
  error(error: HeraldError): void;
  /** A stream was opened (its response's `Date` header, when readable). */
  opened(receivedAt: number, date: string | null): void;
}

export interface EventStreamOptions {
  baseUrl: string;
  transport: StreamTransport;
  tokenIn: 'header' | 'query';
  credentials: RequestCredentials;
  initialRetryMs: number;
  maxRetryDelayMs: number;
  idleTimeoutMs: number;
  /** Ask for `since=latest` (Herald ignores it when the stream resumes, and applies it after a reset). */
  latest?: boolean;
  /** Called before every connect; null for no token. */
  token: () => Promise<string | null>;
  /** Whether `token` can return a new token (a function, not a fixed string). */
  canRefreshToken: () => boolean;
  fetch: typeof fetch;
  EventSource: typeof EventSource | undefined;
  now: () => number;
  random: () => number;
}

/** A stream that stayed open this long, or carried an event, resets the backoff. */
const STABLE_AFTER_MS = 5_000;

/**
 * The one HTTP stream of a hub: `GET /v1/events?format=envelope` for a set of
 * topics, read with fetch streaming and parsed by eventsource-parser, kept
 * open across every kind of end (retry policy), always resuming with the last
 * event id it handed on. Changing the topics reopens it at once with that id,
 * so no event is lost or repeated across the switch.
 */
export class EventStream {
  state: ConnectionState = 'idle';
  lastEventId: string | null = null;
  retryMs: number;
  connects = 0;
  reconnects = 0;
  resubscribes = 0;
  resets = 0;
  connectTimeMs: number | null = null;

  private topics: readonly string[] = [];
  private presence = false;
  /** Herald refused presence=1 and streamed without it: it has no presence (PRESENCE=off). */
  private presenceOff = false;
  /** Set while one attempt goes without presence after a 400: the refusal, reported if that attempt opens. */
  private presenceRefusal: string | undefined;
  private eventTypes = new Set<string>();
  private lastCursor: EventCursor | null = null;
  private failures = 0;
  /** The current attempt handed on at least one event. */
  private delivered = false;
  private running = false;
  private closed = false;
  private attempt: Attempt | undefined;
  /** A stream was lost (not just reopened for new topics) since the last one opened. */
  private lost = false;
  private wake: (() => void) | undefined;
  private addEventSourceType: ((type: string) => void) | undefined;
  /** What the readers hand their frames to. */
  private readonly sink: FrameSink = {
    handle: (message, batch) => this.handle(message, batch),
    flush: (batch) => this.flush(batch),
    retry: (ms) => {
      this.retryMs = ms;
    },
  };

  constructor(
    private readonly options: EventStreamOptions,
    private readonly listener: EventStreamListener,
  ) {
    this.retryMs = options.initialRetryMs;
  }

  /**
   * The topics to carry, and whether to ask for `presence` frames: reopens the stream now if one is open or
   * opening, else takes effect on the next attempt.
   */
  setTopics(topics: readonly string[], { presence = false }: { presence?: boolean } = {}): void {
    this.topics = topics;
    this.presence = presence;
    if (this.closed) return;
    if (!this.running) {
      this.running = true;
      void this.run();
    } else if (this.attempt) {
      this.endAttempt({ kind: 'resubscribe' });
    } else if (this.state === 'idle' || this.state === 'failed') {
      this.wake?.();
    }
  }

  /** EventSource transport: named event types to listen for (fetch sees every type anyway). */
  listenFor(types: Iterable<string>): void {
    for (const type of types) {
      if (this.eventTypes.has(type)) continue;
      this.eventTypes.add(type);
      this.addEventSourceType?.(type);
    }
  }

  /** A new token may fix a `failed` stream (403, expired token): try again. */
  retryNow(): void {
    if (this.state === 'failed') this.wake?.();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.endAttempt({ kind: 'resubscribe' });
    this.wake?.();
    this.setState('closed');
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      if (this.topics.length === 0) {
        this.setState('idle');
        await this.pause();
        continue;
      }
      const end = await this.connectOnce();
      if (this.closed) break;
      if (end.kind !== 'resubscribe') this.lost = true;
      // A 400 to a presence stream may come from a Herald without presence: one try without it, then as usual.
      if (end.kind === 'http' && end.status === 400 && this.presence && !this.presenceOff) {
        const probing = this.presenceRefusal !== undefined;
        this.presenceRefusal = probing ? undefined : end.message;
        if (!probing) continue;
      }
      const decision = decideRetry(end, {
        failures: this.failures,
        retryMs: this.retryMs,
        maxDelayMs: this.options.maxRetryDelayMs,
        canRefreshToken: this.options.canRefreshToken(),
        random: this.options.random,
      });
      if (decision.action === 'stop') {
        this.listener.error(decision.error);
        this.setState('failed');
        await this.pause();
        continue;
      }
      if (decision.error) this.listener.error(decision.error);
      if (decision.failure) this.failures++;
      if (decision.delayMs > 0 || end.kind !== 'resubscribe') this.setState('reconnecting');
      if (decision.delayMs > 0) await this.pause(decision.delayMs);
    }
  }

  /** Waits for `ms`, or (without `ms`) until woken by new topics, a retry or close. */
  private pause(ms?: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      const wake = (): void => done();
      this.wake = ms === undefined ? wake : () => (this.closed ? done() : undefined);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
    }).finally(() => {
      this.wake = undefined;
    });
  }

  private endAttempt(end: StreamEnd): void {
    const attempt = this.attempt;
    if (!attempt || attempt.end) return;
    attempt.end = end;
    attempt.controller.abort();
  }

  private async connectOnce(): Promise<StreamEnd> {
    const attempt: Attempt = { controller: new AbortController() };
    this.attempt = attempt;
    this.setState('connecting');
    this.delivered = false;
    const started = this.options.now();
    const opened = (receivedAt: number, date: string | null): void => {
      this.connectTimeMs = receivedAt - started;
      if (this.connects > 0) {
        if (this.lost) this.reconnects++;
        else this.resubscribes++;
      }
      this.lost = false;
      this.connects++;
      if (this.presenceRefusal !== undefined) this.goWithoutPresence(this.presenceRefusal);
      this.setState('open');
      this.listener.opened(receivedAt, date);
    };
    try {
      let token: string | null;
      try {
        token = await this.options.token();
      } catch (error) {
        return { kind: 'network', message: `the token function failed: ${errorText(error)}` };
      }
      if (attempt.end) return attempt.end;
      const end =
        this.options.transport === 'eventsource'
          ? await this.readEventSource(token, attempt, opened)
          : await this.readFetch(token, attempt, opened);
      const stable = this.delivered || this.options.now() - started >= STABLE_AFTER_MS;
      if (this.state === 'open' && stable) this.failures = 0;
      return end;
    } finally {
      this.attempt = undefined;
    }
  }

  private url(token: string | null, lastEventIdInQuery: boolean): string {
    return streamUrl({
      baseUrl: this.options.baseUrl,
      topics: this.topics,
      latest: this.options.latest === true,
      presence: this.presence && !this.presenceOff && this.presenceRefusal === undefined,
      lastEventId: lastEventIdInQuery ? this.lastEventId : null,
      accessToken: token !== null && (this.options.tokenIn === 'query' || lastEventIdInQuery) ? token : null,
    });
  }

  private async readFetch(
    token: string | null,
    attempt: Attempt,
    opened: (receivedAt: number, date: string | null) => void,
  ): Promise<StreamEnd> {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (this.lastEventId !== null) headers['last-event-id'] = this.lastEventId;
    if (token !== null && this.options.tokenIn === 'header') headers.authorization = `Bearer ${token}`;
    let response: Response;
    try {
      response = await this.options.fetch(this.url(token, false), {
        headers,
        signal: attempt.controller.signal,
        cache: 'no-store',
        credentials: this.options.credentials,
      });
    } catch (error) {
      return attempt.end ?? { kind: 'network', message: errorText(error) };
    }
    const answer = await streamBodyOf(response);
    if (answer.end) return answer.end;
    opened(this.options.now(), response.headers.get('date'));
    return readFetchBody(answer.body, attempt, this.sink, this.options.idleTimeoutMs, () =>
      this.endAttempt({ kind: 'idle-timeout' }),
    );
  }

  /**
   * One parsed frame. Events go to `batch` (and move `lastEventId`), `reset`
   * and `presence` go out at once after the events before them; returns the
   * reason of an `event: close`.
   */
  private handle(message: EventSourceMessage, batch: StreamEvent[]): string | undefined {
    const type = message.event ?? 'message';
    if (type === 'close') return closeReasonOf(message.data);
    // Herald's presence frames have no id; a published event of type `presence` has one, and stays an event.
    if (type === 'presence' && this.presence && !message.id) {
      this.flush(batch);
      const info = presenceInfoOf(message.data);
      if (info) this.listener.presence(info);
      else this.skipped('a presence frame without a topic and a count');
      return undefined;
    }
    if (type === 'reset') {
      this.flush(batch);
      const info = resetInfoOf(message.data, this.lastEventId);
      if (message.id !== undefined && message.id !== '') this.advance(message.id, parseEventId(message.id));
      this.resets++;
      this.listener.reset(info);
      return undefined;
    }
    if (message.id === undefined || message.id === '') return undefined;
    const cursor = parseEventId(message.id);
    // Never hand on an event twice, whatever a proxy or a replay does.
    if (cursor && this.lastCursor && cursor.epoch === this.lastCursor.epoch && cursor.seq <= this.lastCursor.seq) {
      return undefined;
    }
    const event = envelopeEvent(message.id, type, message.data);
    if (event) batch.push(event);
    else this.skipped(`event ${message.id} is not an envelope`);
    this.advance(message.id, cursor);
    return undefined;
  }

  private goWithoutPresence(refusal: string): void {
    this.presenceOff = true;
    this.presenceRefusal = undefined;
    this.listener.error({
      kind: 'http',
      status: 400,
      message: `Herald refused presence (${refusal}): the stream goes on without it`,
      fatal: false,
    });
  }

  /** A frame Herald does not send: reported, not fatal. */
  private skipped(what: string): void {
    this.listener.error({ kind: 'protocol', message: `${what}; skipped`, fatal: false });
  }

  private advance(id: string, cursor: EventCursor | null): void {
    this.lastEventId = id;
    this.lastCursor = cursor;
  }

  private flush(batch: StreamEvent[]): void {
    if (batch.length === 0) return;
    const events = batch.splice(0, batch.length);
    this.delivered = true;
    this.listener.events(events, this.options.now());
  }

  private readEventSource(
    token: string | null,
    attempt: Attempt,
    opened: (receivedAt: number, date: string | null) => void,
  ): Promise<StreamEnd> {
    const EventSourceClass = this.options.EventSource;
    if (!EventSourceClass)
      return Promise.resolve({ kind: 'protocol', message: 'neither fetch streaming nor EventSource' });
    const read = {
      EventSource: EventSourceClass,
      url: this.url(token, true),
      withCredentials: this.options.credentials === 'include',
      types: ['message', 'reset', 'close', ...(this.presence ? ['presence'] : []), ...this.eventTypes],
      lastEventId: () => this.lastEventId,
      opened: () => opened(this.options.now(), null),
      onTypeAdder: (add: ((type: string) => void) | undefined) => (this.addEventSourceType = add),
    };
    return readEventSource(read, attempt, this.sink);
  }

  private setState(state: ConnectionState): void {
    if (this.state === state || (this.state === 'closed' && state !== 'closed')) return;
    this.state = state;
    this.listener.state(state);
  }
}
