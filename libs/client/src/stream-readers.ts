// The frame readers of one attempt, one per transport: they turn bytes or EventSource events into parsed
// frames for the stream, and say how the attempt ended. What a frame means is the stream's business (`FrameSink`).
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { StreamEnd } from './retry-policy.js';
import { errorText, type Attempt, type StreamEvent } from './stream-wire.js';

/** A frame larger than this is not Herald's (MAX_EVENT_BYTES is far smaller): stop buffering it. */
const BUFFER_LIMIT = 16 * 1024 * 1024;

/** What a reader hands its frames to. */
export interface FrameSink {
  /** One parsed frame; events go to `batch`. Returns the reason of an `event: close`. */
  handle(message: EventSourceMessage, batch: StreamEvent[]): string | undefined;
  /** Hands on the events of `batch` (and empties it). */
  flush(batch: StreamEvent[]): void;
  /** The server's `retry:`. */
  retry(ms: number): void;
}

/** Reads a fetch response body until it ends, fails, goes silent for `idleTimeoutMs` or closes. */
export async function readFetchBody(
  body: ReadableStream<Uint8Array>,
  attempt: Attempt,
  sink: FrameSink,
  idleTimeoutMs: number,
  onIdle: () => void,
): Promise<StreamEnd> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const batch: StreamEvent[] = [];
  let closeReason: string | undefined;
  let failed: string | undefined;
  const parser = createParser({
    maxBufferSize: BUFFER_LIMIT,
    onEvent: (message) => {
      if (closeReason !== undefined) return;
      const reason = sink.handle(message, batch);
      if (reason !== undefined) closeReason = reason;
    },
    onRetry: (ms) => sink.retry(ms),
    onError: (error) => {
      if (error.type === 'max-buffer-size-exceeded') failed = error.message;
    },
  });
  let idle: ReturnType<typeof setTimeout> | undefined;
  const watch = (): void => {
    clearTimeout(idle);
    idle = setTimeout(onIdle, idleTimeoutMs);
  };
  watch();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return closeReason !== undefined ? { kind: 'server-close', reason: closeReason } : { kind: 'ended' };
      watch();
      parser.feed(decoder.decode(value, { stream: true }));
      sink.flush(batch);
      if (failed !== undefined) return { kind: 'protocol', message: failed };
      if (closeReason !== undefined) return { kind: 'server-close', reason: closeReason };
    }
  } catch (error) {
    sink.flush(batch);
    return attempt.end ?? { kind: 'network', message: errorText(error) };
  } finally {
    clearTimeout(idle);
    // Ends the request when we leave early (close frame, resubscribe, protocol error).
    attempt.controller.abort();
    reader.releaseLock();
  }
}

export interface EventSourceRead {
  EventSource: typeof EventSource;
  url: string;
  withCredentials: boolean;
  /** The named types to listen for from the start. */
  types: string[];
  /** The id the stream stands at: EventSource repeats it on a frame without one. */
  lastEventId: () => string | null;
  opened: () => void;
  /** Receives the function that listens for one more type while this source is open, then undefined. */
  onTypeAdder: (add: ((type: string) => void) | undefined) => void;
}

/** Where fetch cannot stream: EventSource, driven by our own reconnect policy (it cannot see statuses). */
export function readEventSource(read: EventSourceRead, attempt: Attempt, sink: FrameSink): Promise<StreamEnd> {
  return new Promise<StreamEnd>((resolve) => {
    const source = new read.EventSource(read.url, { withCredentials: read.withCredentials });
    const batch: StreamEvent[] = [];
    const finish = (end: StreamEnd): void => {
      source.close();
      read.onTypeAdder(undefined);
      attempt.controller.signal.removeEventListener('abort', onAbort);
      resolve(end);
    };
    const onAbort = (): void => finish(attempt.end ?? { kind: 'resubscribe' });
    const onFrame = (event: MessageEvent<string>): void => {
      // EventSource repeats the last id on a frame without one: the id we already stand at means none.
      const id = event.lastEventId === read.lastEventId() ? '' : event.lastEventId;
      const message: EventSourceMessage = { id, event: event.type, data: event.data };
      const reason = sink.handle(message, batch);
      sink.flush(batch);
      if (reason !== undefined) finish({ kind: 'server-close', reason });
    };
    attempt.controller.signal.addEventListener('abort', onAbort);
    source.onopen = () => read.opened();
    source.onerror = () => finish({ kind: 'network', message: 'the EventSource failed (status not visible)' });
    for (const type of read.types) source.addEventListener(type, onFrame as EventListener);
    read.onTypeAdder((type) => source.addEventListener(type, onFrame as EventListener));
  });
}
