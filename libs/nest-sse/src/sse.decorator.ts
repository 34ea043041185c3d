import { createParamDecorator, Get, Res, type ExecutionContext } from '@nestjs/common';
import { RESPONSE_PASSTHROUGH_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';
import type { ServerResponse } from 'node:http';
import { isObservable, type Observable } from 'rxjs';
import type { StreamItem } from './encoded-frame.js';
import { EventStream, type EventStreamOptions } from './event-stream.js';

export type SseOptions = EventStreamOptions;

type Handler = (...args: unknown[]) => unknown;

/** The index of an extra handler argument after every one Nest already resolves for the method. */
function nextArgumentIndex(target: object, key: string | symbol, handler: Handler): number {
  const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, target.constructor, key) ?? {}) as Record<
    string,
    { index: number }
  >;
  return Math.max(handler.length - 1, ...Object.values(args).map((arg) => arg.index)) + 1;
}

/** Metadata that decorators applied before this one left on the handler (guards, docs…), for its replacement. */
function copyMetadata(from: Handler, to: Handler): void {
  for (const key of Reflect.getOwnMetadataKeys(from)) {
    Reflect.defineMetadata(key, Reflect.getOwnMetadata(key, from), to);
  }
}

/**
 * A GET route whose handler returns an Observable of events, as Nest's own
 * `@Sse()`: guards, interceptors, pipes and exception filters run as for any
 * route, and an error thrown (or rejected) before the Observable is returned
 * is an ordinary HTTP error. The status and headers are those the response
 * has when the handler's Observable arrives (so async checks decide them,
 * nestjs/nest#12260); then {@link EventStream} writes the head, `retry:` and
 * every item, a pre-encoded {@link EncodedFrame} or a Nest `MessageEvent`.
 * Nothing of Nest's per-request machinery outlives the head.
 */
export function Sse(path?: string | string[], options: SseOptions = {}): MethodDecorator {
  return (target, key, descriptor) => {
    const handler = descriptor.value as unknown as Handler;
    const resIndex = nextArgumentIndex(target, key, handler);
    // Nest resolves the response as one more argument and, the response being the handler's, sends nothing itself.
    Res()(target, key, resIndex);
    Reflect.defineMetadata(RESPONSE_PASSTHROUGH_METADATA, false, target.constructor, key);
    const stream: Handler = async function (this: unknown, ...args: unknown[]): Promise<void> {
      const eventStream = EventStream.of(args[resIndex] as ServerResponse);
      eventStream.defaults(options);
      const result = await handler.apply(this, args);
      if (!isObservable(result)) {
        throw new TypeError(`@Sse() handler ${String(key)} must return an Observable`);
      }
      eventStream.start(result as Observable<StreamItem>);
    };
    copyMetadata(handler, stream);
    Object.defineProperty(stream, 'name', { value: handler.name });
    const replaced = { ...descriptor, value: stream as unknown as typeof descriptor.value };
    Get(path)(target, key, replaced);
    return replaced;
  };
}

/**
 * The handler's {@link EventStream}, before its head is written: set `retryMs`,
 * `heartbeatMs` or a deadline, read `unsentBytes` for back-pressure.
 */
export const SseStream = createParamDecorator((_data: unknown, context: ExecutionContext) =>
  EventStream.of(context.switchToHttp().getResponse<ServerResponse>()),
);
