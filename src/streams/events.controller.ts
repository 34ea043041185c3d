import { Controller, Get, Inject, Req, UseGuards } from '@nestjs/common';
import { Sse, SseStream, type EncodedFrame, type EventStream } from '@herald/nest-sse';
import { ApiExtraModels, ApiHeader, ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { Observable } from 'rxjs';
import { HERALD_CONFIG, type HeraldConfig } from '../config/herald-config.js';
import { memberKey } from '../presence/presence-tracker.js';
import { ConnectionRegistry } from './connection-registry.js';
import { AdmissionGuard } from './guards/admission.guard.js';
import { LongPoll, SubscribeRequestGuard } from './guards/subscribe-request.guard.js';
import { SubscriberAuthGuard } from './guards/subscriber-auth.guard.js';
import { PollWaiter, type PollResponse } from './poll-waiter.js';
import {
  ApiEventStreamResponse,
  ApiSubscribeParameters,
  LAST_EVENT_ID_HEADER,
  PollResult,
  STREAM_MODELS,
} from './streams.schema.js';
import { getSubscribeContext } from './subscribe-request.js';
import { ApiErrors } from '../openapi/http-error.schema.js';
import { ApiSubscriberAuth } from '../openapi/security.js';
import { TAGS } from '../openapi/tags.js';

const BAD_SUBSCRIBE_EXAMPLES = {
  noTopic: 'at least one "topic" query parameter is required',
  badTopic: 'invalid topic "a b": 1-256 characters from A-Z a-z 0-9 _ - . : / ~ @',
  tooManyTopics: 'too many topics: 65 given, at most 64',
};

@Controller('v1')
@ApiTags(TAGS.subscribe)
@ApiExtraModels(...STREAM_MODELS)
@ApiSubscriberAuth()
export class EventsController {
  constructor(
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    private readonly registry: ConnectionRegistry,
    private readonly polls: PollWaiter,
  ) {}

  /**
   * The event stream. Guards have validated, authenticated and admitted the
   * request; the writer (`@herald/nest-sse`) sends the head and `retry:`,
   * then the frames the subscription hands to this Observable: each event's
   * shared bytes, encoded once for every stream.
   */
  @Sse('events')
  @UseGuards(SubscribeRequestGuard, SubscriberAuthGuard, AdmissionGuard)
  @ApiOperation({
    operationId: 'subscribe',
    summary: 'Open an event stream (Server-Sent Events)',
    description:
      'Subscribes to one or more topics. With `Last-Event-ID` (or `lastEventId`) the stream first replays what ' +
      'the client missed, exactly once and in id order, then continues live. Admission (limits, auth) is ' +
      'decided before any header is sent: a refusal is a plain JSON error and never counts as a connection.',
  })
  @ApiSubscribeParameters()
  @ApiQuery({
    name: 'format',
    required: false,
    description:
      '`raw`: `data:` is the payload. `envelope`: `data:` is `{"topic","type","data","ts"}` (StreamEnvelope).',
    schema: { type: 'string', enum: ['raw', 'envelope'], default: 'raw', example: 'raw' },
  })
  @ApiQuery({
    name: 'conflate',
    required: false,
    description:
      '`1`: when the stream falls behind, only the newest pending event per topic is sent once the socket ' +
      'drains (never cut as a slow consumer); ids still only increase.',
    schema: { type: 'string', enum: ['0', '1'], default: '0', example: '1' },
  })
  @ApiQuery({
    name: 'presence',
    required: false,
    description:
      '`1`: also `event: presence` frames `{"topic","subscribers"}` (this stream counted) when a subscribed ' +
      "topic's count changes: at most one per topic per second, the latest count at the end of a burst, " +
      "never before the stream's replay. 400 when Herald runs with PRESENCE=off.",
    schema: { type: 'string', enum: ['0', '1'], default: '0', example: '1' },
  })
  @ApiHeader(LAST_EVENT_ID_HEADER)
  @ApiEventStreamResponse()
  @ApiErrors({
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
  })
  subscribe(@Req() req: Request, @SseStream() stream: EventStream): Observable<EncodedFrame> {
    const { params, ip, tenant, sub, tokenExpiresAt } = getSubscribeContext(req);
    stream.retryMs = this.config.retryMs;
    stream.heartbeatMs = this.config.heartbeatIntervalMs;
    const ageMs = this.config.maxConnectionAgeMs;
    // ±10 % jitter so recycled clients do not come back in one wave.
    if (ageMs > 0) stream.closeAfter(Date.now() + Math.round(ageMs * (0.9 + Math.random() * 0.2)), 'max-age');
    if (tokenExpiresAt !== undefined) stream.closeAfter(tokenExpiresAt, 'token-expired');
    const init = {
      ip,
      tenant,
      topics: params.topics,
      format: params.format,
      cursor: params.cursor,
      lastEventId: params.lastEventId,
      latest: params.latest,
      conflate: params.conflate,
      member: memberKey(sub, tenant),
      presence: params.presence,
    };
    return new Observable<EncodedFrame>((subscriber) => {
      const subscription = this.registry.openSubscription(init, stream, subscriber);
      return () => subscription.streamEnded(stream.closeReason);
    });
  }

  @Get('poll')
  @LongPoll()
  @UseGuards(SubscribeRequestGuard, SubscriberAuthGuard)
  @ApiOperation({
    operationId: 'poll',
    summary: 'Long-poll for events (for clients and proxies that cannot hold a stream)',
    description:
      'Answers as soon as at least one event after `lastEventId` exists on the topics, or with an empty list at ' +
      "the timeout. Without `lastEventId` it waits for events published after the request. Pass the answer's " +
      '`lastEventId` to the next call. Polls do not count toward the connection limits.',
  })
  @ApiSubscribeParameters()
  @ApiQuery({
    name: 'timeout',
    required: false,
    description: 'Seconds to wait for an event, 1–60.',
    schema: { type: 'integer', minimum: 1, maximum: 60, default: 25, example: 1 },
  })
  @ApiHeader({ ...LAST_EVENT_ID_HEADER, description: 'Wins over the `lastEventId` query.' })
  @ApiOkResponse({
    type: PollResult,
    description: 'Events after the cursor, or none at the timeout, or a reset.',
    examples: {
      events: {
        summary: 'Events after the cursor',
        value: {
          events: [
            {
              id: 'mwtm6owhb8wp-42',
              topic: 'trucks/42',
              type: 'position',
              data: { lat: 52.52, lon: 13.405 },
              ts: 1795459440620,
            },
          ],
          lastEventId: 'mwtm6owhb8wp-42',
          reset: false,
        },
      },
      timeout: {
        summary: 'Nothing new before the timeout',
        value: { events: [], lastEventId: 'mwtm6owhb8wp-42', reset: false },
      },
      reset: {
        summary: 'lastEventId unknown: start over from the head',
        value: { events: [], lastEventId: 'mwtm6owhb8wp-42', reset: true },
      },
    },
  })
  @ApiErrors({
    400: {
      description: 'A bad topic, too many topics, a bad `timeout` or `since`, or a query parameter given twice.',
      examples: { ...BAD_SUBSCRIBE_EXAMPLES, badTimeout: 'invalid timeout "90": whole seconds from 1 to 60' },
    },
    503: {
      description: 'The event broker (Redis) is unreachable.',
      retryAfter: true,
      examples: { brokerDown: 'the event broker is unavailable; retry later' },
    },
  })
  poll(@Req() req: Request): Promise<PollResponse> {
    const { params } = getSubscribeContext(req);
    return this.polls.wait(params, req);
  }
}
