import { applyDecorators } from '@nestjs/common';
import {
  ApiHeader,
  ApiOkResponse,
  ApiProperty,
  ApiPropertyOptional,
  ApiQuery,
  ApiSchema,
  getSchemaPath,
  type ApiPropertyOptions,
  type HeaderObject,
  type MediaTypeObject,
} from '@nestjs/swagger';
import { EVENT_TYPE_PATTERN, MAX_TOPICS_PER_SUBSCRIPTION, TOPIC_PATTERN } from '@herald/sse';
import { ApiErrors } from '../openapi/http-error.schema.js';
import { MAX_JSON_DEPTH } from '../http/json-body.js';
import { jsonText } from '../openapi/json-text.js';
import type { HeraldEvent } from '../broker/herald-event.js';
import type { ConnectionView } from './connection-registry.js';
import type { PollResponse } from './poll-waiter.js';
import { CLOSE_REASONS } from './stream-counters.js';

/** OpenAPI documentation of the Streams module's bodies, responses and stream frames. */

export const EVENT_ID_PATTERN = '^[a-z0-9]{1,32}-(0|[1-9][0-9]{0,15})$';
export const EXAMPLE_EVENT_ID = 'mwtm6owhb8wp-42';
export const EXAMPLE_TOPIC = 'trucks/42';
const EXAMPLE_TS = 1795459440620;
const EXAMPLE_POSITION = { lat: 52.52, lon: 13.405 };

export const TOPIC_PROPERTY = {
  type: 'string',
  pattern: TOPIC_PATTERN.source,
  minLength: 1,
  maxLength: 256,
  description: '1–256 characters from `A-Z a-z 0-9 _ - . : / ~ @`.',
} as const;

export const EVENT_TYPE_PROPERTY = {
  type: 'string',
  pattern: EVENT_TYPE_PATTERN.source,
  minLength: 1,
  maxLength: 64,
  description: '1–64 characters from `A-Z a-z 0-9 _ - . :`.',
} as const;

export const EVENT_ID_PROPERTY = {
  type: 'string',
  pattern: EVENT_ID_PATTERN,
  description: 'Assigned by Herald: `<epoch>-<seq>`, totally ordered within one epoch (one history).',
} as const;

/** Any JSON value, spelled out (a bare property would be documented as an object). */
export const ANY_JSON = {
  description: 'Any JSON value: object, array, string, number, boolean or null.',
  anyOf: [
    { type: 'object', additionalProperties: true },
    { type: 'array', items: {} },
    { type: 'string' },
    { type: 'number' },
    { type: 'boolean' },
    { type: 'null' },
  ],
} satisfies ApiPropertyOptions;

/** 202 of `POST /v1/topics/{topic}/events`. */
export class PublishAccepted {
  @ApiProperty({ ...EVENT_ID_PROPERTY, example: EXAMPLE_EVENT_ID })
  id!: string;
}

/** 202 of `POST /v1/events`. */
export class BatchAccepted {
  @ApiProperty({
    type: 'array',
    items: EVENT_ID_PROPERTY,
    description: 'The ids of the events, in the order of the request.',
    example: ['mwtm6owhb8wp-43', 'mwtm6owhb8wp-44'],
  })
  ids!: string[];
}

/** One event as the long-poll answers it. */
export class PolledEvent implements ReturnType<HeraldEvent['toJSON']> {
  @ApiProperty({ ...EVENT_ID_PROPERTY, example: EXAMPLE_EVENT_ID })
  id!: string;

  @ApiProperty({ ...TOPIC_PROPERTY, example: EXAMPLE_TOPIC })
  topic!: string;

  @ApiProperty({ ...EVENT_TYPE_PROPERTY, example: 'position' })
  type!: string;

  @ApiProperty({ ...ANY_JSON, example: EXAMPLE_POSITION })
  data!: unknown;

  @ApiProperty({ type: 'integer', description: 'Publish time, ms since the Unix epoch.', example: EXAMPLE_TS })
  ts!: number;
}

/** 200 of `GET /v1/poll`. */
export class PollResult implements PollResponse {
  @ApiProperty({
    type: [PolledEvent],
    description: 'Events after the cursor, in id order (at most 1,000; poll again at once for more).',
  })
  events!: PolledEvent[];

  @ApiProperty({
    ...EVENT_ID_PROPERTY,
    description: 'The cursor for the next call, also when `events` is empty.',
    example: EXAMPLE_EVENT_ID,
  })
  lastEventId!: string;

  @ApiProperty({
    description:
      'True when the given `lastEventId` is unknown or older than the retained history: `events` is empty and ' +
      '`lastEventId` is the current head. Re-sync your state, then poll on from there.',
    example: false,
  })
  reset!: boolean;
}

/** One open stream, as `GET /v1/admin/connections` lists it. */
export class Connection implements ConnectionView {
  @ApiProperty({ description: 'Connection id (for `DELETE /v1/admin/connections/{id}`).', example: 'k3x9a1' })
  id!: string;

  @ApiProperty({ description: 'Client IP (from `X-Forwarded-For` when TRUST_PROXY is on).', example: '10.1.2.3' })
  ip!: string;

  @ApiProperty({ type: 'string', nullable: true, description: "The JWT's `tenant` claim.", example: 'acme' })
  tenant!: string | null;

  @ApiProperty({ type: 'array', items: TOPIC_PROPERTY, example: [EXAMPLE_TOPIC, 'alerts'] })
  topics!: string[];

  @ApiProperty({ type: 'string', format: 'date-time', example: '2026-11-18T09:24:00.620Z' })
  startedAt!: string;

  @ApiProperty({ type: 'integer', minimum: 0, description: 'Events written to this stream.', example: 1204 })
  messages!: number;

  @ApiProperty({ type: 'integer', minimum: 0, description: 'Bytes written to this stream.', example: 183020 })
  bytes!: number;

  @ApiProperty({
    type: 'integer',
    minimum: 0,
    description: 'Bytes queued and not yet taken by the socket (past MAX_QUEUE_BYTES it is a slow consumer).',
    example: 0,
  })
  unsentBytes!: number;
}

/** The `data` of a message frame in `format=envelope`. */
@ApiSchema({ description: 'The `data:` of an event frame when the stream was opened with `format=envelope`.' })
export class StreamEnvelope {
  @ApiProperty({ ...TOPIC_PROPERTY, example: EXAMPLE_TOPIC })
  topic!: string;

  @ApiProperty({ ...EVENT_TYPE_PROPERTY, example: 'position' })
  type!: string;

  @ApiProperty({ ...ANY_JSON, example: EXAMPLE_POSITION })
  data!: unknown;

  @ApiProperty({ type: 'integer', description: 'Publish time, ms since the Unix epoch.', example: EXAMPLE_TS })
  ts!: number;
}

@ApiSchema({ description: 'The `data:` of an `event: reset` frame: the resume point is lost, re-sync your state.' })
export class StreamReset {
  @ApiProperty({ enum: ['history-lost'], example: 'history-lost' })
  reason!: 'history-lost';

  @ApiProperty({
    type: 'string',
    nullable: true,
    description: 'The `Last-Event-ID` the client sent (null when it sent none).',
    example: 'mwtk0000zzzz-17',
  })
  lastEventId!: string | null;
}

@ApiSchema({ description: 'The `data:` of an `event: close` frame, the last frame of a stream Herald ends itself.' })
export class StreamClose {
  @ApiProperty({
    enum: CLOSE_REASONS.filter((reason) => reason !== 'client'),
    description:
      '`draining` (shutdown), `max-age` (older than MAX_CONNECTION_AGE_MS), `slow-consumer` (more than ' +
      'MAX_QUEUE_BYTES unsent), `kicked` (admin), `token-expired` (the JWT expired). Reconnect with ' +
      '`Last-Event-ID` and nothing is lost.',
    example: 'kicked',
  })
  reason!: string;
}

/*
 * The frames of `text/event-stream` as an SSE parser dispatches them (`data:`
 * lines joined with LF), listed under the response's `x-itemSchema` (what
 * OpenAPI 3.2 calls `itemSchema`). Besides frames, a stream carries a
 * `retry: <ms>` line first and `: hb` comments while idle.
 */

@ApiSchema({ description: 'A published event on a `format=raw` stream.' })
export class SseEventFrame {
  @ApiProperty({ ...EVENT_ID_PROPERTY, example: EXAMPLE_EVENT_ID })
  id!: string;

  @ApiProperty({
    ...EVENT_TYPE_PROPERTY,
    description: 'The event type; the `event:` line is omitted for `message`.',
    example: 'position',
  })
  event!: string;

  @ApiProperty({
    type: 'string',
    description: 'A string payload as it is, any other JSON value as its JSON text.',
    example: JSON.stringify(EXAMPLE_POSITION),
  })
  data!: string;
}

@ApiSchema({ description: 'A published event on a `format=envelope` stream.' })
export class SseEnvelopeFrame {
  @ApiProperty({ ...EVENT_ID_PROPERTY, example: EXAMPLE_EVENT_ID })
  id!: string;

  @ApiProperty({ ...EVENT_TYPE_PROPERTY, example: 'position' })
  event!: string;

  @ApiProperty(
    jsonText(StreamEnvelope, { topic: EXAMPLE_TOPIC, type: 'position', data: EXAMPLE_POSITION, ts: EXAMPLE_TS }),
  )
  data!: string;
}

@ApiSchema({ description: 'Sent right after `retry:` when `Last-Event-ID` is unknown or older than the history.' })
export class SseResetFrame {
  @ApiPropertyOptional({
    ...EVENT_ID_PROPERTY,
    description: 'The current head: a reconnect resumes from here.',
    example: EXAMPLE_EVENT_ID,
  })
  id?: string;

  @ApiProperty({ enum: ['reset'] })
  event!: 'reset';

  @ApiProperty(jsonText(StreamReset, { reason: 'history-lost', lastEventId: 'mwtk0000zzzz-17' }))
  data!: string;
}

@ApiSchema({ description: 'The last frame of a stream Herald ends itself.' })
export class SseCloseFrame {
  @ApiProperty({ enum: ['close'] })
  event!: 'close';

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    description: 'A `retry:` for this reconnect, ms (spreads the reconnects of a drain).',
    example: 4200,
  })
  retry?: number;

  @ApiProperty(jsonText(StreamClose, { reason: 'draining' }))
  data!: string;
}

/** The models every stream response refers to. */
export const STREAM_MODELS = [
  StreamEnvelope,
  StreamReset,
  StreamClose,
  SseEventFrame,
  SseEnvelopeFrame,
  SseResetFrame,
  SseCloseFrame,
];

/** One frame of the stream: a published event, `reset` or `close` (anyOf: raw and envelope events look alike). */
export const STREAM_FRAME_SCHEMA = {
  anyOf: [SseEventFrame, SseEnvelopeFrame, SseResetFrame, SseCloseFrame].map((model) => ({
    $ref: getSchemaPath(model),
  })),
};

/** Example streams, byte for byte as Herald writes them. */
export const STREAM_EXAMPLES = {
  live: {
    summary: 'Live events (format=raw)',
    value:
      'retry: 3000\n\n' +
      `id: mwtm6owhb8wp-42\nevent: position\ndata: ${JSON.stringify(EXAMPLE_POSITION)}\n\n` +
      'id: mwtm6owhb8wp-43\ndata: door open\n\n' +
      ': hb\n\n',
  },
  envelope: {
    summary: 'format=envelope',
    value:
      'retry: 3000\n\n' +
      `id: mwtm6owhb8wp-42\nevent: position\ndata: ${JSON.stringify({ topic: EXAMPLE_TOPIC, type: 'position', data: EXAMPLE_POSITION, ts: EXAMPLE_TS })}\n\n`,
  },
  reset: {
    summary: 'Last-Event-ID no longer in history',
    value:
      'retry: 3000\n\n' +
      `id: mwtm6owhb8wp-42\nevent: reset\ndata: {"reason":"history-lost","lastEventId":"mwtk0000zzzz-17"}\n\n`,
  },
  close: {
    summary: 'Herald ends the stream (here: kicked by an admin)',
    value: 'id: mwtm6owhb8wp-43\ndata: door open\n\nevent: close\ndata: {"reason":"kicked"}\n\n',
  },
};

// The request side of `GET /v1/events` and `GET /v1/poll`.

const EXAMPLE_STALE_ID = 'mwtk0000zzzz-17';

/** `topic` (repeatable) and the resume point, shared by the stream and the long-poll. */
export function ApiSubscribeParameters(): MethodDecorator {
  return applyDecorators(
    ApiQuery({
      name: 'topic',
      required: true,
      description: 'A topic to subscribe to; repeat the parameter for more (1–64 topics).',
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

export const LAST_EVENT_ID_HEADER = {
  name: 'Last-Event-ID',
  required: false,
  description:
    'Resume after this event id (browsers send it on every reconnect). Every event after it on the subscribed ' +
    'topics is replayed in id order, exactly once, then live events follow with no gap and no duplicate.',
  example: EXAMPLE_STALE_ID,
};

/** The answer's headers on an open stream (Nest's SSE writer plus Herald's). */
export const STREAM_HEADERS: Record<string, HeaderObject> = {
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

export const STREAM_DESCRIPTION = [
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

/** The 200 of a stream: `text/event-stream` with its frames and examples. */
export function ApiEventStreamResponse(): MethodDecorator {
  return ApiOkResponse({
    description: STREAM_DESCRIPTION,
    headers: STREAM_HEADERS,
    content: {
      'text/event-stream': {
        schema: { type: 'string', description: 'An endless sequence of SSE frames.' },
        examples: STREAM_EXAMPLES,
        'x-itemSchema': STREAM_FRAME_SCHEMA,
      } as MediaTypeObject,
    },
  });
}

// The publish API.

/** Rate-limit headers on every request that passed the publisher check (@nestjs/throttler). */
export const PUBLISH_RESPONSE_HEADERS: Record<string, HeaderObject> = {
  'X-RateLimit-Limit': {
    description: 'PUBLISH_RATE_LIMIT: requests this credential may make per window.',
    required: true,
    schema: { type: 'integer', minimum: 1, example: 10000 },
  },
  'X-RateLimit-Remaining': {
    description: 'Requests left in the current window.',
    required: true,
    schema: { type: 'integer', minimum: 0, example: 9999 },
  },
  'X-RateLimit-Reset': {
    description: 'Seconds until the window starts over.',
    required: true,
    schema: { type: 'integer', minimum: 0, example: 1 },
  },
  'Idempotent-Replayed': {
    description:
      '`true` when this answer repeats an earlier publish with the same `Idempotency-Key`: nothing was published.',
    required: false,
    schema: { type: 'string', enum: ['true'] },
  },
};

/** The optional `Idempotency-Key` request header of both publish operations. */
export function ApiIdempotencyKey(): MethodDecorator {
  return ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      'Makes the publish safe to retry: a repeat from the same credential (the publish token, the admin token, ' +
      "or a publisher JWT's `sub`) within IDEMPOTENCY_TTL_MS (default 10 min) on the same route and topic with an " +
      'equal parsed body answers the first status and ids and publishes nothing (`Idempotent-Replayed: true`). ' +
      'Exact across instances over Redis (checked in the same atomic step as the publish).',
    schema: {
      type: 'string',
      minLength: 1,
      maxLength: 255,
      pattern: '^[\\x21-\\x7E]{1,255}$',
    },
  });
}

/** The refusals of both publish operations (auth is documented with the credential). */
export function ApiPublishErrors(shape: 'one' | 'batch'): MethodDecorator {
  const tooDeep = `the JSON body nests arrays/objects more than ${MAX_JSON_DEPTH} levels deep (at most ${MAX_JSON_DEPTH})`;
  const badBody: Record<string, string> =
    shape === 'one'
      ? {
          badTopic: 'invalid topic "a b": 1-256 characters from A-Z a-z 0-9 _ - . : / ~ @',
          badType: 'the body: type must be 1-64 characters from A-Z a-z 0-9 _ - . :',
          noData: 'the body: data is required (any JSON value, null included)',
          notAnObject: 'the body must be a JSON object {"type"?, "data"}, got a string',
          malformed: 'the body is not valid JSON: Unexpected token } in JSON at position 9',
          tooDeep,
        }
      : {
          empty: 'a batch holds 1 to 1000 events, got 0',
          badTopic: 'event 0: topic must be 1-256 characters from A-Z a-z 0-9 _ - . : / ~ @',
          notAList: 'the body must be a JSON array of events [{"topic", "type"?, "data"}, …], got an object',
          tooDeep,
        };
  badBody.badKey =
    'Idempotency-Key must be 1-255 visible ASCII characters: character 6 is not one (a space, a control character or non-ASCII)';
  return ApiErrors({
    400: {
      description:
        `Invalid JSON, body, topic or type, a query with more than 1,000 parameters, or a body nesting more ` +
        `than ${MAX_JSON_DEPTH} levels of arrays/objects (the envelope included).`,
      examples: badBody,
    },
    413: {
      description:
        "One event's encoded data exceeds MAX_EVENT_BYTES, or the body is too large (a body that is both " +
        'larger than MAX_EVENT_BYTES and too deep is 413 too).',
      examples: {
        tooLarge:
          shape === 'one'
            ? 'event data is 70000 bytes, more than MAX_EVENT_BYTES (65536)'
            : 'data of event 3 is 70000 bytes, more than MAX_EVENT_BYTES (65536)',
      },
    },
    409: {
      description:
        'A request with the same `Idempotency-Key` from this credential is still being handled by this instance; ' +
        'retry after `Retry-After` to get its answer.',
      retryAfter: true,
      examples: {
        inFlight: 'a request with this Idempotency-Key is still being handled; retry after it is answered',
      },
    },
    422: {
      description:
        'This `Idempotency-Key` was used by this credential within IDEMPOTENCY_TTL_MS for another request ' +
        '(route, topic, type or data): nothing was published.',
      examples: {
        reusedKey:
          'this Idempotency-Key was used for another request (route, topic or body) within IDEMPOTENCY_TTL_MS; ' +
          'use a new key for a new publish',
      },
    },
    415: {
      description: 'The body is not `application/json`.',
      examples: { notJson: 'the body must be JSON (Content-Type: application/json)' },
    },
    429: {
      description: 'This credential made more than PUBLISH_RATE_LIMIT requests in PUBLISH_RATE_WINDOW_MS.',
      retryAfter: true,
      examples: { rateLimited: 'publish rate limit exceeded for this credential; see Retry-After' },
    },
    503: {
      description: 'The event broker (Redis) is unreachable: nothing was stored.',
      retryAfter: true,
      examples: { brokerDown: 'the event broker is unavailable; retry later' },
    },
  });
}
