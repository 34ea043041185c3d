// Baseline: the SSE endpoint most NestJS apps start with. One RxJS Subject
// carries every published event; each subscriber's @Sse Observable is that
// Subject piped through its own `filter` (its topics) and `map` (to a
// MessageEvent), and Nest formats and writes every message per subscriber.
// Compiled by bench/lib/servers.mjs with esbuild (no decorator metadata, so
// injection is explicit).
import 'reflect-metadata';
import {
  Body,
  Controller,
  Headers,
  HttpCode,
  Inject,
  Injectable,
  type MessageEvent,
  Module,
  Param,
  Post,
  Query,
  Sse,
  UnauthorizedException,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { filter, map, type Observable, Subject } from 'rxjs';

const AUTHORIZATION = `Bearer ${process.env.PUBLISH_TOKEN ?? 'publisher-secret-123'}`;

interface PublishedEvent {
  id: string;
  topic: string;
  data: string | object;
}

@Injectable()
class EventBus {
  readonly events = new Subject<PublishedEvent>();
  private seq = 0;

  publish(topic: string, data: string | object): string {
    const id = String(++this.seq);
    this.events.next({ id, topic, data });
    return id;
  }
}

@Controller('v1')
class EventsController {
  constructor(@Inject(EventBus) private readonly bus: EventBus) {}

  @Sse('events')
  events(@Query('topic') topic: string | string[]): Observable<MessageEvent> {
    const topics = ([] as string[]).concat(topic ?? []);
    return this.bus.events.pipe(
      filter((event) => topics.includes(event.topic)),
      map((event) => ({ id: event.id, data: event.data })),
    );
  }

  @Post('topics/:topic/events')
  @HttpCode(202)
  publish(
    @Param('topic') topic: string,
    @Headers('authorization') authorization: string | undefined,
    @Body() body: { data: string | object },
  ): { id: string } {
    if (authorization !== AUTHORIZATION) throw new UnauthorizedException();
    return { id: this.bus.publish(topic, body.data) };
  }
}

@Module({ controllers: [EventsController], providers: [EventBus] })
class AppModule {}

const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
await app.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '127.0.0.1');
console.log(JSON.stringify({ msg: 'listening' }));
