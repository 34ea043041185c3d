import { ApiOkResponse, ApiOperation, ApiParam } from '@nestjs/swagger';
import { invalidTopicMessage } from '@herald/sse';
import { composed } from '../openapi/compose.js';
import { ApiErrors } from '../openapi/http-error.schema.js';
import { ApiPublisherAuth } from '../openapi/security.js';
import { TopicInfo, TopicList, TopicPresence } from './topics.schema.js';

/** The OpenAPI side of the topic API: one decorator per route. */

const TOPIC_PARAM = { name: 'topic', description: 'The topic, URL-encoded (`trucks%2F42`).', example: 'trucks/42' };
const UNAVAILABLE = {
  503: {
    description: 'Presence cannot be counted exactly right now (Redis unreachable): never a wrong number.',
    retryAfter: true,
    examples: { unavailable: 'presence is unavailable: redis is unreachable or not yet up to date' },
  },
  404: {
    description: 'Herald runs with PRESENCE=off.',
    examples: { off: 'presence is off (PRESENCE=off)' },
  },
};
const BAD_TOPIC = { badTopic: invalidTopicMessage('a b') };

/** `GET /v1/topics`. */
export function ApiListTopics(): MethodDecorator {
  return composed(
    ApiOperation({
      operationId: 'listTopics',
      summary: 'Topics with a subscriber or a retained event',
      description:
        'In code-unit order, a page at a time. A scoped publisher JWT sees only the topics it may publish to.',
    }),
    ApiPublisherAuth({ scoped: false }),
    ApiOkResponse({ type: TopicList }),
    ApiErrors({
      400: {
        description: 'A bad `prefix`, `limit` or `cursor`.',
        examples: { badLimit: 'limit must be a whole number from 1 to 1000' },
      },
      ...UNAVAILABLE,
    }),
  );
}

/** `GET /v1/topics/{topic}`. */
export function ApiGetTopic(): MethodDecorator {
  return composed(
    ApiOperation({
      operationId: 'getTopic',
      summary: "A topic's subscribers and newest retained event",
      description:
        'Render a snapshot from your own state with `lastEventId`, then subscribe with it as `Last-Event-ID`: ' +
        'the stream goes on from exactly there.',
    }),
    ApiPublisherAuth(),
    ApiParam(TOPIC_PARAM),
    ApiOkResponse({ type: TopicInfo }),
    ApiErrors({ 400: { description: 'Not a valid topic.', examples: BAD_TOPIC }, ...UNAVAILABLE }),
  );
}

/** `GET /v1/topics/{topic}/presence`. */
export function ApiTopicPresence(): MethodDecorator {
  return composed(
    ApiOperation({
      operationId: 'getTopicPresence',
      summary: 'Who is subscribed to a topic',
      description:
        'Members grouped by the subscriber JWT `sub` (with its `tenant`) and their stream counts, across ' +
        'instances, a page at a time; streams without a `sub` are counted in `anonymous`, never listed.',
    }),
    ApiPublisherAuth(),
    ApiParam(TOPIC_PARAM),
    ApiOkResponse({ type: TopicPresence }),
    ApiErrors({
      400: { description: 'Not a valid topic, or a bad `limit` or `cursor`.', examples: BAD_TOPIC },
      ...UNAVAILABLE,
    }),
  );
}
