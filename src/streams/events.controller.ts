import { Controller, Get, Inject, Req, UseGuards } from '@nestjs/common';
import { Sse, SseStream, type EncodedFrame, type EventStream } from '@herald/nest-sse';
import { ApiExtraModels, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { Observable } from 'rxjs';
import { HERALD_CONFIG, type HeraldConfig } from '../config/herald-config.js';
import { memberKey } from '../presence/presence-tracker.js';
import { ConnectionRegistry } from './connection-registry.js';
import type { PollResult } from './dto/poll-result.dto.js';
import { STREAM_MODELS } from './dto/stream-frames.dto.js';
import { AdmissionGuard } from './guards/admission.guard.js';
import { LongPoll, SubscribeRequestGuard } from './guards/subscribe-request.guard.js';
import { SubscriberAuthGuard } from './guards/subscriber-auth.guard.js';
import { PollWaiter } from './poll-waiter.js';
import { ApiPoll, ApiSubscribe } from './streams.openapi.js';
import { getSubscribeContext } from './subscribe-request.js';
import { ApiSubscriberAuth } from '../openapi/security.js';
import { TAGS } from '../openapi/tags.js';

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
  @ApiSubscribe()
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
  @ApiPoll()
  poll(@Req() req: Request): Promise<PollResult> {
    const { params } = getSubscribeContext(req);
    return this.polls.wait(params, req);
  }
}
