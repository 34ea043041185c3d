import {
  BadRequestException,
  Controller,
  Get,
  Inject,
  NotFoundException,
  Param,
  Query,
  Req,
  UseGuards,
} from '@nestjs/common';
import { ApiExtraModels, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { invalidTopicMessage, isValidTopic } from '@herald/sse';
import { HERALD_CONFIG, type HeraldConfig } from '../config/herald-config.js';
import { BrokerUnavailableError, EVENT_BROKER, type EventBroker } from '../broker/event-broker.js';
import { RetryLaterException } from '../http/retry-later.exception.js';
import { TAGS } from '../openapi/tags.js';
import { assertMayPublish, mayPublish, PublisherGuard } from '../streams/guards/publisher.guard.js';
import { parseMemberKey, PRESENCE, PresenceUnavailableError, type PresenceTracker } from './presence-tracker.js';
import { PageQuery, TOPIC_MODELS, TopicInfo, TopicList, TopicListQuery, TopicPresence } from './topics.schema.js';
import { ApiGetTopic, ApiListTopics, ApiTopicPresence } from './topics.openapi.js';

const encodeCursor = (position: string): string => Buffer.from(position).toString('base64url');
const decodeCursor = (cursor: string | undefined): string | undefined =>
  cursor === undefined ? undefined : Buffer.from(cursor, 'base64url').toString();

/**
 * What a backend may know of its topics: subscribers across instances, the
 * newest retained event (a snapshot's resume point), who is listening. A
 * publisher credential that may publish to the topic (or the admin token).
 */
@Controller('v1')
@UseGuards(PublisherGuard)
@ApiTags(TAGS.topics)
@ApiExtraModels(...TOPIC_MODELS)
export class TopicsController {
  constructor(
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    @Inject(EVENT_BROKER) private readonly broker: EventBroker,
    @Inject(PRESENCE) private readonly presence: PresenceTracker,
  ) {}

  @Get('topics')
  @ApiListTopics()
  async list(@Req() req: Request, @Query() query: TopicListQuery): Promise<TopicList> {
    const prefix = query.prefix ?? '';
    const limit = Number(query.limit ?? 100);
    const after = decodeCursor(query.cursor);
    const [occupied, retained] = await this.answer(() =>
      Promise.all([
        this.presence.occupied(prefix, after, limit + 1),
        this.broker.retainedTopics(prefix, after, limit + 1),
      ]),
    );
    const merged = [...new Set([...occupied, ...retained])].sort();
    const page = merged.slice(0, limit);
    const topics = await this.info(page);
    return {
      topics: topics.filter((info) => mayPublish(req, info.topic)),
      cursor: merged.length > limit ? encodeCursor(page[page.length - 1]) : null,
    };
  }

  @Get('topics/:topic')
  @ApiGetTopic()
  async get(@Req() req: Request, @Param('topic') topic: string): Promise<TopicInfo> {
    this.checkTopic(req, topic);
    return (await this.info([topic]))[0];
  }

  @Get('topics/:topic/presence')
  @ApiTopicPresence()
  async members(@Req() req: Request, @Param('topic') topic: string, @Query() query: PageQuery): Promise<TopicPresence> {
    this.checkTopic(req, topic);
    const limit = Number(query.limit ?? 100);
    const page = await this.answer(() => this.presence.members(topic, decodeCursor(query.cursor), limit));
    return {
      topic,
      subscribers: page.subscribers,
      anonymous: page.anonymous,
      members: page.members.map(({ key, connections }) => ({ ...parseMemberKey(key), connections })),
      cursor: page.next === undefined ? null : encodeCursor(page.next),
    };
  }

  private checkTopic(req: Request, topic: string): void {
    if (!isValidTopic(topic)) {
      throw new BadRequestException(invalidTopicMessage(topic));
    }
    assertMayPublish(req, [topic]);
  }

  private async info(topics: string[]): Promise<TopicInfo[]> {
    const [counts, history] = await this.answer(() =>
      Promise.all([this.presence.counts(topics), this.broker.topicHistory(topics)]),
    );
    return topics.map((topic, i) => ({ topic, subscribers: counts[i], ...history[i] }));
  }

  /** 404 with PRESENCE=off; 503 + Retry-After when an exact answer is not possible now. */
  private async answer<T>(read: () => Promise<T>): Promise<T> {
    if (!this.presence.enabled) throw new NotFoundException('presence is off (PRESENCE=off)');
    try {
      return await read();
    } catch (error) {
      if (!(error instanceof PresenceUnavailableError) && !(error instanceof BrokerUnavailableError)) throw error;
      throw new RetryLaterException(503, error.message, this.config.retryAfterSeconds);
    }
  }
}
