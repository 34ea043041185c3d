import {
  BadRequestException,
  Body,
  Controller,
  HttpCode,
  Inject,
  NotFoundException,
  Param,
  PayloadTooLargeException,
  Post,
  Req,
  UseGuards,
} from '@nestjs/common';
import { ApiExcludeEndpoint, ApiExtraModels, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { invalidTopicMessage, isValidTopic } from '@herald/sse';
import { HERALD_CONFIG, type HeraldConfig } from '../config/herald-config.js';
import { EVENT_BROKER, type EventBroker, type PublishRequest } from '../broker/event-broker.js';
import type { HeraldEvent } from '../broker/herald-event.js';
import {
  BatchEventDto,
  MAX_BATCH,
  PublishEventDto,
  type BatchAccepted,
  type PublishAccepted,
} from './dto/publish-event.dto.js';
import { StreamCounters } from './stream-counters.js';
import { idempotencyKey, idempotentPublish, publishFingerprint, reusedKey } from './idempotency.js';
import { JsonBodyGuard } from './guards/json-body.guard.js';
import { PublishThrottleGuard } from './guards/publish-throttle.guard.js';
import { assertMayPublish, PublisherGuard } from './guards/publisher.guard.js';
import { ApiPublish, ApiPublishBatch } from './publish.openapi.js';
import { ApiPublisherAuth } from '../openapi/security.js';
import { TAGS } from '../openapi/tags.js';

@Controller('v1')
@UseGuards(PublisherGuard, PublishThrottleGuard, JsonBodyGuard)
@ApiTags(TAGS.publish)
@ApiPublisherAuth()
@ApiExtraModels(BatchEventDto)
export class PublishController {
  constructor(
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    @Inject(EVENT_BROKER) private readonly broker: EventBroker,
    private readonly counters: StreamCounters,
  ) {}

  @Post('topics/:topic/events')
  @HttpCode(202)
  @ApiPublish()
  async publishOne(
    @Req() req: Request,
    @Param('topic') topic: string,
    // `unknown`, so the global ValidationPipe leaves the body as parsed (PublishEventDto.read checks it).
    @Body() body: unknown,
  ): Promise<PublishAccepted> {
    const once = idempotencyKey(req, this.config);
    if (!isValidTopic(topic)) {
      throw new BadRequestException(invalidTopicMessage(topic));
    }
    assertMayPublish(req, [topic]);
    const [event] = await this.publish(
      req,
      'one',
      [this.toRequest(topic, PublishEventDto.read(body), undefined)],
      once,
    );
    return { id: event };
  }

  /** `/v1/topics/trucks/42/events`: the topic's slash was not encoded; say how to send it. */
  @Post('topics/*segments/events')
  @ApiExcludeEndpoint()
  unencodedTopic(@Param('segments') segments: string[]): never {
    const topic = segments.join('/');
    throw new NotFoundException(
      `no route: the topic is one URL-encoded path segment; to publish to ${JSON.stringify(topic)} ` +
        `POST /v1/topics/${encodeURIComponent(topic)}/events`,
    );
  }

  @Post('events')
  @HttpCode(202)
  @ApiPublishBatch()
  async publishBatch(@Req() req: Request, @Body() body: unknown): Promise<BatchAccepted> {
    const once = idempotencyKey(req, this.config);
    const items = BatchEventDto.readBatch(body, MAX_BATCH);
    assertMayPublish(
      req,
      items.map((item) => item.topic),
    );
    const requests = items.map((item, index) => this.toRequest(item.topic, item, index));
    return { ids: await this.publish(req, 'batch', requests, once) };
  }

  private toRequest(topic: string, event: { type: string; data: unknown }, index: number | undefined): PublishRequest {
    const size = Buffer.byteLength(JSON.stringify(event.data));
    if (size > this.config.maxEventBytes) {
      const which = index === undefined ? 'event data' : `data of event ${index}`;
      throw new PayloadTooLargeException(
        `${which} is ${size} bytes, more than MAX_EVENT_BYTES (${this.config.maxEventBytes})`,
      );
    }
    return { topic, type: event.type, data: event.data };
  }

  /** Publishes, or with an `Idempotency-Key` publishes once: a repeat answers the first ids. */
  private async publish(
    req: Request,
    route: 'one' | 'batch',
    requests: PublishRequest[],
    once: { name: string } | undefined,
  ): Promise<string[]> {
    let events: HeraldEvent[];
    if (once === undefined) {
      events = await this.broker.publish(requests);
    } else {
      const fingerprint = publishFingerprint(route, requests);
      const result = await this.broker.publishOnce(requests, idempotentPublish(once.name, fingerprint, this.config));
      if (result.outcome === 'mismatch') throw reusedKey();
      if (result.outcome === 'replayed') {
        req.res?.setHeader('Idempotent-Replayed', 'true');
        return result.ids;
      }
      events = result.events;
    }
    let bytes = 0;
    for (const event of events) bytes += event.frame('raw').length;
    this.counters.recordPublished(events.length, bytes);
    return events.map((event) => event.id);
  }
}
