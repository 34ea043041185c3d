import { applyDecorators } from '@nestjs/common';
import {
  ApiHeader,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiQuery,
  type HeaderObject,
  type MediaTypeObject,
} from '@nestjs/swagger';
import { invalidTopicMessage, MAX_TOPICS_PER_SUBSCRIPTION, tooManyTopicsMessage } from '@herald/sse';
import { composed } from '../openapi/compose.js';
import { ApiErrors } from '../openapi/http-error.schema.js';
import { Connection } from './dto/connection.dto.js';
import { PollResult } from './dto/poll-result.dto.js';
import {
  EXAMPLE_EVENT_ID,
  EXAMPLE_POSITION,
  EXAMPLE_STALE_ID,
  EXAMPLE_TOPIC,
  EXAMPLE_TS,
  TOPIC_PROPERTY,
} from './dto/properties.js';
import { STREAM_EXAMPLES, STREAM_FRAME_SCHEMA } from './dto/stream-frames.dto.js';

/** The OpenAPI side of subscribing (stream, long-poll) and of the admin's connection list: one decorator per route. */

const BAD_SUBSCRIBE_EXAMPLES = {
  noTopic: 'at least one "topic" query parameter is required',
  badTopic: invalidTopicMessage('a b'),
  tooManyTopics: tooManyTopicsMessage(MAX_TOPICS_PER_SUBSCRIPTION + 1),
};

/** `topic` (repeatable) and the resume point, shared by the stream and the long-poll. */
function ApiSubscribeParameters(): MethodDecorator {
  return applyDecorators(
    ApiQuery({
      name: 'topic',
      required: true,
      description: `A topic to subscribe to; repeat the parameter for more (1–${MAX_TOPICS_PER_SUBSCRIPTION} topics).`,
      style: 'form',
      explode: true,
      schema: {
        type: 'array',
        minItems: 1,
        maxItems: MAX_TOPICS_PER_SUBSCRIPTION,
        items: TOPIC_PROPERTY,
        example: [EXAMPLE_TOPIC, 'alerts'],
      },
    }),
    ApiQuery({
      name: 'lastEventId',
      required: false,
      description:
        'Resume after this event id, for clients that cannot set headers (`Last-Event-ID` wins). An id that is ' +
        'unknown or older than the retained history is answered with a reset, not an error.',
      schema: { type: 'string', example: EXAMPLE_STALE_ID },
    }),
    ApiQuery({
      name: 'since',
      required: false,
      description:
        '`latest`: first the newest retained event of each topic that has one, in id order, then live. A ' +
        'resuming `Last-Event-ID` wins; after a reset the newest events follow it.',
      schema: { type: 'string', enum: ['latest'], example: 'latest' },
    }),
    ApiQuery({
      name: 'access_token',
      required: false,
      description: 'The subscriber JWT, for clients that cannot set headers (only when JWT_SECRET is set).',
      schema: { type: 'string' },
    }),
  );
}

const LAST_EVENT_ID_HEADER = {
  name: 'Last-Event-ID',
  required: false,
  description:
    'Resume after this event id (browsers send it on every reconnect). Every event after it on the subscribed ' +
    'topics is replayed in id order, exactly once, then live events follow with no gap and no duplicate.',
  example: EXAMPLE_STALE_ID,
};

/** The answer's headers on an open stream (Nest's SSE writer plus Herald's). */
const STREAM_HEADERS: Record<string, HeaderObject> = {
  'Cache-Control': {
    description: 'Always includes `no-cache` and `no-transform`: no cache or proxy may buffer or rewrite the stream.',
    required: true,
    schema: { type: 'string', pattern: '(?=.*no-cache)(?=.*no-transform)' },
  },
  'X-Accel-Buffering': {
    description: 'Tells nginx not to buffer the stream.',
    required: true,
    schema: { type: 'string', enum: ['no'] },
  },
  Connection: {
    description:
      'HTTP/1.1: `keep-alive`, the connection stays open after the stream; `close` when the request asked for it ' +
      '(`Connection: close`) or is HTTP/1.0.',
    required: true,
    schema: { type: 'string', enum: ['keep-alive', 'close'] },
  },
};

const STREAM_DESCRIPTION = [
  'The stream is open. It carries, in order:',
  '',
  '1. `retry: <RETRY_MS>`, the reconnect delay clients should use;',
  '2. with `Last-Event-ID`: every event after it on the subscribed topics (replay), or one `event: reset` frame',
  '   (`SseResetFrame`) when the id is unknown or older than the retained history;',
  '3. live events, one frame each (`SseEventFrame`, or `SseEnvelopeFrame` with `format=envelope`):',
  '   `id:`, `event:` (omitted for `message`), one `data:` line per payload line;',
  '4. a comment `: hb` every HEARTBEAT_INTERVAL_MS while nothing else was sent;',
  '5. when Herald ends the stream: `event: close` (`SseCloseFrame`) with the reason. Reconnect with',
  '   `Last-Event-ID` and nothing is lost.',
  '',
  'The frame shapes are under `x-itemSchema` (OpenAPI 3.2 `itemSchema`). Swagger UI cannot show a live stream:',
  'use `curl -N` or an `EventSource`.',
].join('\n');

/** `GET /v1/events`: the stream, its parameters, frames and refusals. */
export function ApiSubscribe(): MethodDecorator {
  return composed(
    ApiOperation({
      operationId: 'subscribe',
      summary: 'Open an event stream (Server-Sent Events)',
      description:
        'Subscribes to one or more topics. With `Last-Event-ID` (or `lastEventId`) the stream first replays what ' +
        'the client missed, exactly once and in id order, then continues live. Admission (limits, auth) is ' +
        'decided before any header is sent: a refusal is a plain JSON error and never counts as a connection.',
    }),
    ApiSubscribeParameters(),
    ApiQuery({
      name: 'format',
      required: false,
      description:
        '`raw`: `data:` is the payload. `envelope`: `data:` is `{"topic","type","data","ts"}` (StreamEnvelope).',
      schema: { type: 'string', enum: ['raw', 'envelope'], default: 'raw', example: 'raw' },
    }),
    ApiQuery({
      name: 'conflate',
      required: false,
      description:
        '`1`: when the stream falls behind, only the newest pending event per topic is sent once the socket ' +
        'drains (never cut as a slow consumer); ids still only increase.',
      schema: { type: 'string', enum: ['0', '1'], default: '0', example: '1' },
    }),
    ApiQuery({
      name: 'presence',
      required: false,
      description:
        '`1`: also `event: presence` frames `{"topic","subscribers"}` (this stream counted) when a subscribed ' +
        "topic's count changes: at most one per topic per second, the latest count at the end of a burst, " +
        "never before the stream's replay. 400 when Herald runs with PRESENCE=off.",
      schema: { type: 'string', enum: ['0', '1'], default: '0', example: '1' },
    }),
    ApiHeader(LAST_EVENT_ID_HEADER),
    ApiOkResponse({
      description: STREAM_DESCRIPTION,
      headers: STREAM_HEADERS,
      content: {
        'text/event-stream': {
          schema: { type: 'string', description: 'An endless sequence of SSE frames.' },
          examples: STREAM_EXAMPLES,
          'x-itemSchema': STREAM_FRAME_SCHEMA,
        } as MediaTypeObject,
      },
    }),
    ApiErrors({
      400: {
        description:
          'A bad topic, too many topics, a bad `format`, `since`, `conflate` or `presence`, or a query parameter given twice.',
        examples: {
          ...BAD_SUBSCRIBE_EXAMPLES,
          badFormat: 'invalid format "xml": raw or envelope',
          badSince: 'invalid since "earliest": only "latest"',
          badConflate: 'invalid conflate "yes": 0 or 1',
          badPresence: 'invalid presence "yes": 0 or 1',
        },
      },
      406: {
        description: 'The `Accept` header is present and allows neither `text/event-stream`, `text/*` nor `*/*`.',
        examples: { notAcceptable: 'this endpoint produces text/event-stream' },
      },
      429: {
        description: "The caller's IP (MAX_CONNECTIONS_PER_IP) or tenant (MAX_CONNECTIONS_PER_TENANT) is at its limit.",
        retryAfter: true,
        examples: {
          perIp: 'too many connections from this IP address',
          perTenant: 'too many connections for this tenant',
        },
      },
      503: {
        description:
          'Active streams are at CAPACITY_THRESHOLD × MAX_CONNECTIONS, Herald is draining, or the event broker ' +
          '(Redis) is unreachable so no stream could resume: try another instance.',
        retryAfter: true,
        examples: {
          capacity: 'Herald is at capacity; retry later',
          draining: 'Herald is shutting down; retry on another instance',
          brokerDown: 'the event broker is unreachable; retry later',
        },
      },
    }),
  );
}

const EXAMPLE_POLLED = { id: EXAMPLE_EVENT_ID, topic: EXAMPLE_TOPIC, type: 'position', data: EXAMPLE_POSITION };

/** `GET /v1/poll`: the long-poll, its answer and refusals. */
export function ApiPoll(): MethodDecorator {
  return composed(
    ApiOperation({
      operationId: 'poll',
      summary: 'Long-poll for events (for clients and proxies that cannot hold a stream)',
      description:
        'Answers as soon as at least one event after `lastEventId` exists on the topics, or with an empty list at ' +
        "the timeout. Without `lastEventId` it waits for events published after the request. Pass the answer's " +
        '`lastEventId` to the next call. Polls do not count toward the connection limits.',
    }),
    ApiSubscribeParameters(),
    ApiQuery({
      name: 'timeout',
      required: false,
      description: 'Seconds to wait for an event, 1–60.',
      schema: { type: 'integer', minimum: 1, maximum: 60, default: 25, example: 1 },
    }),
    ApiHeader({ ...LAST_EVENT_ID_HEADER, description: 'Wins over the `lastEventId` query.' }),
    ApiOkResponse({
      type: PollResult,
      description: 'Events after the cursor, or none at the timeout, or a reset.',
      examples: {
        events: {
          summary: 'Events after the cursor',
          value: { events: [{ ...EXAMPLE_POLLED, ts: EXAMPLE_TS }], lastEventId: EXAMPLE_EVENT_ID, reset: false },
        },
        timeout: {
          summary: 'Nothing new before the timeout',
          value: { events: [], lastEventId: EXAMPLE_EVENT_ID, reset: false },
        },
        reset: {
          summary: 'lastEventId unknown: start over from the head',
          value: { events: [], lastEventId: EXAMPLE_EVENT_ID, reset: true },
        },
      },
    }),
    ApiErrors({
      400: {
        description: 'A bad topic, too many topics, a bad `timeout` or `since`, or a query parameter given twice.',
        examples: { ...BAD_SUBSCRIBE_EXAMPLES, badTimeout: 'invalid timeout "90": whole seconds from 1 to 60' },
      },
      503: {
        description: 'The event broker (Redis) is unreachable.',
        retryAfter: true,
        examples: { brokerDown: 'the event broker is unavailable; retry later' },
      },
    }),
  );
}

/** `GET /v1/admin/connections`. */
export function ApiListConnections(): MethodDecorator {
  return composed(
    ApiOperation({ operationId: 'listConnections', summary: 'List the open event streams of this instance' }),
    ApiOkResponse({ type: [Connection], description: 'Every open stream, in no particular order.' }),
  );
}

/** `DELETE /v1/admin/connections/{id}`. */
export function ApiKickConnection(): MethodDecorator {
  return composed(
    ApiOperation({
      operationId: 'kickConnection',
      summary: 'Close one stream',
      description:
        'The stream gets `event: close` with reason `kicked`, then ends. The client may reconnect and resume with ' +
        'its `Last-Event-ID` (revoke its token first to keep it out).',
    }),
    ApiParam({ name: 'id', description: 'A connection id from `GET /v1/admin/connections`.', example: 'k3x9a1' }),
    ApiNoContentResponse({ description: 'Closed.' }),
    ApiErrors({
      404: { description: 'No open stream has this id.', examples: { unknown: 'no connection "k3x9a1"' } },
    }),
  );
}
