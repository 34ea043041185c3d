// The HTTP side of one stream attempt: the request URL, what an answer other than a stream means, the envelope.
import { parseRetryAfter } from './backoff.js';
import type { StreamEnd } from './retry-policy.js';

/** One event off the wire, from its envelope. */
export interface StreamEvent {
  id: string;
  topic: string;
  type: string;
  data: unknown;
  ts: number;
}

/** One connection attempt, and how it ends when we end it ourselves. */
export interface Attempt {
  controller: AbortController;
  end?: StreamEnd;
}

/** The largest error body read from a refused request. */
const MAX_ERROR_BODY = 4096;

interface Envelope {
  topic: string;
  type?: string;
  data: unknown;
  ts: number;
}

function isEnvelope(value: unknown): value is Envelope {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.topic === 'string' && typeof v.ts === 'number' && 'data' in v;
}

/** The event an `envelope`-format frame carries, or undefined when its data is not an envelope. */
export function envelopeEvent(id: string, type: string, data: string): StreamEvent | undefined {
  let envelope: unknown;
  try {
    envelope = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (!isEnvelope(envelope)) return undefined;
  return { id, topic: envelope.topic, type: envelope.type ?? type, data: envelope.data, ts: envelope.ts };
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export interface StreamQuery {
  baseUrl: string;
  topics: readonly string[];
  latest: boolean;
  presence: boolean;
  /** Set for EventSource, which cannot send headers. */
  lastEventId: string | null;
  /** The token when it goes in the query. */
  accessToken: string | null;
}

/** `GET /v1/events?format=envelope` for the query. */
export function streamUrl(query: StreamQuery): string {
  const url = new URL('v1/events', query.baseUrl.endsWith('/') ? query.baseUrl : `${query.baseUrl}/`);
  for (const topic of query.topics) url.searchParams.append('topic', topic);
  url.searchParams.set('format', 'envelope');
  if (query.latest) url.searchParams.set('since', 'latest');
  if (query.presence) url.searchParams.set('presence', '1');
  if (query.lastEventId !== null) url.searchParams.set('lastEventId', query.lastEventId);
  if (query.accessToken !== null) url.searchParams.set('access_token', query.accessToken);
  return url.toString();
}

/** The event stream to read, or how the attempt ends on an answer that is not one. */
export async function streamBodyOf(
  response: Response,
): Promise<{ body: ReadableStream<Uint8Array>; end?: undefined } | { end: StreamEnd }> {
  if (response.status !== 200) {
    const message = await errorMessage(response);
    if (response.status >= 200 && response.status < 300) {
      return { end: { kind: 'http', status: response.status, retryAfterMs: undefined, message } };
    }
    const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), Date.now());
    return { end: { kind: 'http', status: response.status, retryAfterMs, message } };
  }
  const contentType = response.headers.get('content-type') ?? '';
  if (!contentType.toLowerCase().startsWith('text/event-stream') || response.body === null) {
    void response.body?.cancel().catch(() => undefined);
    return {
      end: { kind: 'protocol', message: `expected text/event-stream, got ${contentType || 'no content type'}` },
    };
  }
  return { body: response.body };
}

async function errorMessage(response: Response): Promise<string> {
  let text = '';
  try {
    text = (await response.text()).slice(0, MAX_ERROR_BODY);
    const body: unknown = JSON.parse(text);
    const message = (body as { message?: unknown }).message;
    if (typeof message === 'string') return `${response.status}: ${message}`;
    if (Array.isArray(message)) return `${response.status}: ${message.join('; ')}`;
  } catch {
    // Not JSON: the status and the start of the text say enough.
  }
  return `${response.status} ${response.statusText}${text ? `: ${text.slice(0, 200)}` : ''}`.trim();
}
