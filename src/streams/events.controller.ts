import { Controller, Get, Inject, Req, Res, Sse, UseGuards } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Observable } from 'rxjs';
import { HERALD_CONFIG, type HeraldConfig } from '../config/herald-config.js';
import { ConnectionRegistry } from './connection-registry.js';
import { AdmissionGuard } from './guards/admission.guard.js';
import { LongPoll, SubscribeRequestGuard } from './guards/subscribe-request.guard.js';
import { SubscriberAuthGuard } from './guards/subscriber-auth.guard.js';
import { PollWaiter, type PollResponse } from './poll-waiter.js';
import { SseSink } from './sse-sink.js';
import { getSubscribeContext } from './subscribe-request.js';

type NestSseResponse = Response & { raw?: SseSink };

@Controller('v1')
export class EventsController {
  constructor(
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    private readonly registry: ConnectionRegistry,
    private readonly polls: PollWaiter,
  ) {}

  /**
   * The event stream. Guards have validated, authenticated and admitted the
   * request. Nest owns the response's lifecycle (headers after the handler,
   * end on completion or disconnect); Herald writes the bytes (SseSink).
   */
  @Sse('events')
  @UseGuards(SubscribeRequestGuard, SubscriberAuthGuard, AdmissionGuard)
  subscribe(@Req() req: Request, @Res({ passthrough: true }) res: NestSseResponse): Observable<never> {
    const { params, ip, tenant, tokenExpiresAt } = getSubscribeContext(req);
    const ageMs = this.config.maxConnectionAgeMs;
    // Nest reads `res.raw` as soon as this handler returns, before it subscribes.
    let start: ((statusCode: number, headers: OutgoingHttpHeaders) => void) | undefined;
    res.raw = new SseSink(
      (statusCode, headers) => start?.(statusCode, headers),
      () => res.end(),
    );
    return new Observable<never>((subscriber) => {
      const subscription = this.registry.openSubscription({
        ip,
        tenant,
        topics: params.topics,
        format: params.format,
        cursor: params.cursor,
        lastEventId: params.lastEventId,
        tokenExpiresAt,
        // ±10 % jitter so recycled clients do not come back in one wave.
        maxAgeAt: ageMs > 0 ? Date.now() + Math.round(ageMs * (0.9 + Math.random() * 0.2)) : undefined,
      });
      start = (statusCode, headers) =>
        subscription.start(res as ServerResponse, statusCode, headers, () => subscriber.complete());
      return () => this.registry.detach(subscription);
    });
  }

  @Get('poll')
  @LongPoll()
  @UseGuards(SubscribeRequestGuard, SubscriberAuthGuard)
  poll(@Req() req: Request): Promise<PollResponse> {
    const { params } = getSubscribeContext(req);
    return this.polls.wait(params, req);
  }
}
