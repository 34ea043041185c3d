/**
 * A stand-in for Herald's `GET /v1/events` inside unit tests of the client's
 * classes: records each request and lets the test write frames to, or end,
 * the stream it answered. (The e2e suites run the client against the real app.)
 */
export interface StreamRequest {
  url: URL;
  headers: Headers;
  topics: string[];
  lastEventId: string | null;
  aborted: boolean;
}

type Answer = (request: StreamRequest) => Response | undefined;

export class FakeHerald {
  readonly requests: StreamRequest[] = [];
  private readonly streams: { request: StreamRequest; controller: ReadableStreamDefaultController<Uint8Array> }[] = [];
  private readonly answers: Answer[] = [];
  private seq = 0;
  private readonly encoder = new TextEncoder();

  /** The next request gets this answer instead of an open stream. */
  answerNext(answer: Answer): void {
    this.answers.push(answer);
  }

  readonly fetch: typeof fetch = async (input, init) => {
    const url = new URL(String(input));
    const headers = new Headers(init?.headers);
    const request: StreamRequest = {
      url,
      headers,
      topics: url.searchParams.getAll('topic'),
      lastEventId: headers.get('last-event-id'),
      aborted: false,
    };
    this.requests.push(request);
    const signal = init?.signal ?? undefined;
    if (signal?.aborted) throw new DOMException('aborted', 'AbortError');
    const answer = this.answers.shift()?.(request);
    if (answer) return answer;
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
    signal?.addEventListener('abort', () => {
      request.aborted = true;
      try {
        controller.error(new DOMException('aborted', 'AbortError'));
      } catch {
        // already closed
      }
    });
    this.streams.push({ request, controller });
    return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
  };

  /** The latest request. */
  get last(): StreamRequest {
    return this.requests[this.requests.length - 1];
  }

  /** Writes raw text to the latest stream. */
  write(text: string): void {
    this.streams[this.streams.length - 1].controller.enqueue(this.encoder.encode(text));
  }

  /** Writes one event in envelope format; returns its id. */
  event(topic: string, data: unknown, options: { type?: string; ts?: number; epoch?: string } = {}): string {
    const id = `${options.epoch ?? 'e1'}-${++this.seq}`;
    const type = options.type ?? 'message';
    const envelope = JSON.stringify({ topic, type, data, ts: options.ts ?? Date.now() });
    this.write(`id: ${id}\n${type === 'message' ? '' : `event: ${type}\n`}data: ${envelope}\n\n`);
    return id;
  }

  /** A presence frame, as Herald sends it with `presence=1`: no id. */
  presence(topic: string, subscribers: number): void {
    this.write(`event: presence\ndata: ${JSON.stringify({ topic, subscribers })}\n\n`);
  }

  /** `event: close` with a reason, then the end of the body, as Herald does. */
  close(reason: string): void {
    this.write(`event: close\ndata: ${JSON.stringify({ reason })}\n\n`);
    this.end();
  }

  end(): void {
    this.streams[this.streams.length - 1].controller.close();
  }
}

/** Resolves once `check` holds (polling every few ms), or rejects after `timeoutMs`. */
export async function until(check: () => boolean, timeoutMs = 2_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
