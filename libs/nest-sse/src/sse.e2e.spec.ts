import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  CallHandler,
  CanActivate,
  Controller,
  ExecutionContext,
  ForbiddenException,
  Get,
  Injectable,
  Module,
  NestInterceptor,
  NotFoundException,
  Query,
  Res,
  UseGuards,
  type INestApplication,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Response } from 'express';
import type { Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { concat, NEVER, Observable, of, Subject } from 'rxjs';
import { EncodedFrame, type MessageEvent, type StreamItem } from './encoded-frame.js';
import { EventStream, EventStreams } from './event-stream.js';
import { lastChunkedBody } from '../../../test/support/chunked.js';
import { Sse, SseStream } from './sse.decorator.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

@Injectable()
class FeedGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const http = context.switchToHttp();
    if (http.getRequest<{ query: Record<string, string> }>().query.deny) throw new ForbiddenException('not yours');
    http.getResponse<Response>().setHeader('x-guard', 'passed');
    return true;
  }
}

/** An interceptor that only runs code around the handler, as most do (timing, logging, headers). */
@Injectable()
class StampInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    context.switchToHttp().getResponse<Response>().setHeader('x-stamp', 'interceptor');
    return next.handle();
  }
}

@Controller()
class SampleController {
  readonly feed = new Subject<StreamItem>();
  subscribers = 0;

  @Sse('ticks', { retryMs: 1500, heartbeatMs: 150 })
  @UseGuards(FeedGuard)
  ticks(): Observable<StreamItem> {
    return new Observable<StreamItem>((subscriber) => {
      this.subscribers++;
      const inner = this.feed.subscribe(subscriber);
      return () => {
        this.subscribers--;
        inner.unsubscribe();
      };
    });
  }

  @Sse('decided')
  async decided(
    @SseStream() stream: EventStream,
    @Res({ passthrough: true }) res: Response,
    @Query('status') status?: string,
  ): Promise<Observable<MessageEvent>> {
    await sleep(20);
    if (status === '404') throw new NotFoundException('no such feed');
    res.status(Number(status ?? 200));
    res.setHeader('x-decided', 'after an await');
    stream.closeAfter(Date.now() + 300, 'expired');
    return concat(of({ data: { ok: true }, type: 'first' }), NEVER);
  }

  @Sse('finite')
  finite(): Observable<MessageEvent> {
    return of({ data: 'one' }, { data: 'two', id: '2' });
  }

  @Get('slow')
  async slow(): Promise<{ slow: boolean }> {
    await sleep(200);
    return { slow: true };
  }
}

@Module({ controllers: [SampleController], providers: [FeedGuard] })
class SampleModule {}

/** Sends raw request bytes and collects what comes back for `ms`. */
async function exchange(port: number, request: string, ms: number): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  let bytes = '';
  socket.on('data', (chunk: Buffer) => (bytes += chunk.toString('utf8')));
  socket.on('error', () => {});
  socket.write(request);
  await sleep(ms);
  socket.destroy();
  return bytes;
}

const get = (path: string, extra = ''): string =>
  `GET ${path} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n${extra}\r\n`;

describe('@Sse() from @herald/nest-sse on a real Nest app', () => {
  let app: INestApplication;
  let port: number;
  let sample: SampleController;

  beforeAll(async () => {
    app = await NestFactory.create(SampleModule, { logger: false, forceCloseConnections: true });
    app.useGlobalInterceptors(new StampInterceptor());
    await app.listen(0, '127.0.0.1');
    port = ((app.getHttpServer() as Server).address() as AddressInfo).port;
    sample = app.get(SampleController);
  });
  afterAll(async () => {
    await app.close();
  });

  it('lets guards refuse with an ordinary HTTP error before any stream byte (nestjs/nest#12670)', async () => {
    const response = await exchange(port, get('/ticks?deny=1'), 200);
    expect(response).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/);
    expect(response).toMatch(/content-type: application\/json/i);
    expect(response).toContain('"message":"not yours"');
    expect(response).not.toMatch(/text\/event-stream/);
  });

  it('lets async checks in the handler decide the status and headers (nestjs/nest#12260), or fail as HTTP errors', async () => {
    const decided = await exchange(port, get('/decided?status=201'), 150);
    expect(decided).toMatch(/^HTTP\/1\.1 201 Created\r\n/);
    expect(decided).toMatch(/x-decided: after an await/i);
    expect(decided).toMatch(/content-type: text\/event-stream/i);
    const refused = await exchange(port, get('/decided?status=404'), 150);
    expect(refused).toMatch(/^HTTP\/1\.1 404 Not Found\r\n/);
    expect(refused).toContain('"message":"no such feed"');
  });

  it('starts with `retry:` (no empty message), keeps guard and interceptor headers, and heartbeats while idle', async () => {
    const response = await exchange(port, get('/ticks'), 400);
    const [head] = response.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(head).toMatch(/x-guard: passed/i);
    expect(head).toMatch(/x-stamp: interceptor/i);
    expect(head).toMatch(/cache-control: no-cache, no-transform/i);
    expect(head).toMatch(/x-accel-buffering: no/i);
    expect(head).toMatch(/connection: keep-alive/i);
    const text = lastChunkedBody(response);
    expect(text.startsWith('retry: 1500\n\n')).toBe(true);
    expect(text).toContain(': hb\n\n');
  });

  it('writes MessageEvents and shared pre-encoded frames; a client that leaves is torn down at once', async () => {
    const sockets = [0, 1].map(() => connect(port, '127.0.0.1'));
    const received = ['', ''];
    sockets.forEach((socket, i) => {
      socket.on('data', (chunk: Buffer) => (received[i] += chunk.toString()));
      socket.write(get('/ticks'));
    });
    await sleep(150);
    expect(sample.subscribers).toBe(2);
    const shared = EncodedFrame.of({ id: '9', event: 'pos', data: '{"x":1}' });
    sample.feed.next(shared);
    sample.feed.next({ data: { y: 2 }, type: 'obj' });
    await sleep(100);
    for (const text of received) {
      expect(lastChunkedBody(text)).toContain('id: 9\nevent: pos\ndata: {"x":1}\n\n');
      expect(lastChunkedBody(text)).toContain('event: obj\ndata: {"y":2}\n\n');
    }
    const streams = EventStreams.for(app.getHttpServer() as Server);
    expect(streams.size).toBe(2);
    sockets.forEach((socket) => socket.destroy());
    await sleep(100);
    expect(sample.subscribers).toBe(0);
    expect(streams.size).toBe(0);
  });

  it('ends with `event: close` and the reason at a deadline, and at once when the Observable completes', async () => {
    const expired = lastChunkedBody(await exchange(port, get('/decided'), 600));
    expect(expired).toBe('event: first\ndata: {"ok":true}\n\nevent: close\ndata: {"reason":"expired"}\n\n<end>');
    expect(lastChunkedBody(await exchange(port, get('/finite'), 150))).toBe('data: one\n\nid: 2\ndata: two\n\n<end>');
  });

  it('answers HEAD with the head only, so a pipelined request after it gets a clean answer', async () => {
    const response = await exchange(
      port,
      'HEAD /ticks HTTP/1.1\r\nHost: x\r\n\r\nGET /slow HTTP/1.1\r\nHost: x\r\n\r\n',
      400,
    );
    const [first, second] = response.split(/(?=HTTP\/1\.1 )/);
    expect(first).toMatch(/content-type: text\/event-stream/i);
    expect(first.endsWith('\r\n\r\n')).toBe(true);
    expect(second).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(second).toContain('{"slow":true}');
  });

  it('starts a stream pipelined behind an unfinished response once that one is done (not a silent stream)', async () => {
    const response = await exchange(port, 'GET /slow HTTP/1.1\r\nHost: x\r\n\r\n' + get('/ticks'), 500);
    const [first, second] = response.split(/(?=HTTP\/1\.1 )/);
    expect(first).toContain('{"slow":true}');
    expect(second).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(lastChunkedBody(second).startsWith('retry: 1500\n\n')).toBe(true);
  });

  it('a pipelined stream whose connection closes while it waits is released', async () => {
    await sleep(100);
    expect(sample.subscribers).toBe(0);
    await exchange(port, 'GET /slow HTTP/1.1\r\nHost: x\r\n\r\n' + get('/ticks'), 50);
    await sleep(300);
    expect(sample.subscribers).toBe(0);
    expect(EventStreams.for(app.getHttpServer() as Server).size).toBe(0);
  });

  it('shutdown: closeAll ends every stream with `event: close`, each with its own retry', async () => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    socket.write(get('/ticks'));
    await sleep(100);
    const closed = EventStreams.for(app.getHttpServer() as Server).closeAll('draining', () => 4321);
    await sleep(100);
    expect(closed).toBe(1);
    expect(lastChunkedBody(text).endsWith('event: close\nretry: 4321\ndata: {"reason":"draining"}\n\n<end>')).toBe(
      true,
    );
    expect(sample.subscribers).toBe(0);
    socket.destroy();
  });
});
