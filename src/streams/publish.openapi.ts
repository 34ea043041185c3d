import {
  ApiAcceptedResponse,
  ApiBody,
  ApiHeader,
  ApiOperation,
  ApiParam,
  getSchemaPath,
  type HeaderObject,
} from '@nestjs/swagger';
import { MAX_JSON_DEPTH } from '../http/json-body.js';
import { composed } from '../openapi/compose.js';
import { ApiErrors } from '../openapi/http-error.schema.js';
import {
  BatchAccepted,
  BatchEventDto,
  MAX_BATCH,
  PublishAccepted,
  PublishEventDto,
  TOPIC_MESSAGE,
  TYPE_MESSAGE,
} from './dto/publish-event.dto.js';
import { invalidTopicMessage } from '@herald/sse';
import { EXAMPLE_POSITION, EXAMPLE_TOPIC, TOPIC_PROPERTY } from './dto/properties.js';

/** The OpenAPI side of the publish API: one decorator per route. */

/** Rate-limit headers on every request that passed the publisher check (@nestjs/throttler). */
const PUBLISH_RESPONSE_HEADERS: Record<string, HeaderObject> = {
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
function ApiIdempotencyKey(): MethodDecorator {
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
function ApiPublishErrors(shape: 'one' | 'batch'): MethodDecorator {
  const tooDeep = `the JSON body nests arrays/objects more than ${MAX_JSON_DEPTH} levels deep (at most ${MAX_JSON_DEPTH})`;
  const badBody: Record<string, string> =
    shape === 'one'
      ? {
          badTopic: invalidTopicMessage('a b'),
          badType: `the body: ${TYPE_MESSAGE}`,
          noData: 'the body: data is required (any JSON value, null included)',
          notAnObject: 'the body must be a JSON object {"type"?, "data"}, got a string',
          malformed: 'the body is not valid JSON: Unexpected token } in JSON at position 9',
          tooDeep,
        }
      : {
          empty: `a batch holds 1 to ${MAX_BATCH} events, got 0`,
          badTopic: `event 0: ${TOPIC_MESSAGE}`,
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

/** `POST /v1/topics/{topic}/events`. */
export function ApiPublish(): MethodDecorator {
  return composed(
    ApiOperation({
      operationId: 'publish',
      summary: 'Publish one event to a topic',
      description:
        'The event is in history (so a resume replays it) before `202` is answered, with the id Herald assigned. ' +
        'The topic is one URL-encoded path segment: `/v1/topics/trucks%2F42/events` publishes to `trucks/42`.',
    }),
    ApiParam({
      name: 'topic',
      description: 'The topic, URL-encoded.',
      schema: { ...TOPIC_PROPERTY, example: EXAMPLE_TOPIC },
    }),
    ApiBody({
      type: PublishEventDto,
      examples: {
        json: { summary: 'A JSON payload with a type', value: { type: 'position', data: EXAMPLE_POSITION } },
        text: { summary: 'A string payload (type message)', value: { data: 'door open' } },
      },
    }),
    ApiAcceptedResponse({
      type: PublishAccepted,
      description: 'Accepted and stored.',
      headers: PUBLISH_RESPONSE_HEADERS,
    }),
    ApiIdempotencyKey(),
    ApiPublishErrors('one'),
  );
}

/** `POST /v1/events`. */
export function ApiPublishBatch(): MethodDecorator {
  return composed(
    ApiOperation({
      operationId: 'publishBatch',
      summary: 'Publish a batch of events, all or none',
      description: `1 to ${MAX_BATCH} events, possibly to different topics; ids are assigned in the order given.`,
    }),
    ApiBody({
      schema: {
        type: 'array',
        minItems: 1,
        maxItems: MAX_BATCH,
        items: { $ref: getSchemaPath(BatchEventDto) },
      },
      examples: {
        batch: {
          summary: 'Two events to two topics',
          value: [
            { topic: EXAMPLE_TOPIC, type: 'position', data: EXAMPLE_POSITION },
            { topic: 'alerts', data: 'door open' },
          ],
        },
      },
    }),
    ApiAcceptedResponse({
      type: BatchAccepted,
      description: 'All accepted and stored.',
      headers: PUBLISH_RESPONSE_HEADERS,
    }),
    ApiIdempotencyKey(),
    ApiPublishErrors('batch'),
  );
}
