import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { encodeFrame } from '@herald/sse';
import { HERALD_CONFIG, type HeraldConfig } from '../config/herald-config.js';
import { ConnectionRegistry } from '../streams/connection-registry.js';
import { PollWaiter } from '../streams/poll-waiter.js';

export interface DrainOutcome {
  /** Streams open when the drain began; each got `event: close` (draining). */
  streams: number;
  /** HTTP connections open when the drain began (streams, polls, idle keep-alives). */
  connections: number;
  /** Connections still open at the deadline, cut by Herald. */
  cut: number;
  durationMs: number;
}

/**
 * The `retry:` of the `index`-th of `count` drained streams: one slot each of
 * `windowMs / count`, at a random point inside it, so reconnects arrive
 * spread evenly over the window instead of in one wave.
 */
export function spreadRetry(index: number, count: number, windowMs: number, random = Math.random): number {
  return Math.floor((windowMs * (index + random())) / Math.max(1, count));
}

/**
 * Graceful shutdown of the HTTP side. On `run()`: readiness turns 503 and new
 * subscriptions are refused (503 + Retry-After) at once; every open stream
 * gets `event: close` (draining) with its own `retry:`; every connection is
 * half-closed (FIN) as soon as its response is done, so a client sees the end
 * of its stream and leaves. The drain waits for all connections to go, up to
 * DRAIN_TIMEOUT_MS, then cuts the rest.
 */
@Injectable()
export class Drain implements OnApplicationBootstrap {
  private readonly logger = new Logger('Drain');
  /** Open HTTP connections: the responses each has in flight, and how many it has had. */
  private readonly connections = new Map<Socket, { inFlight: Set<ServerResponse>; served: number }>();
  private outcome: Promise<DrainOutcome> | undefined;
  private allGone: (() => void) | undefined;

  constructor(
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    private readonly registry: ConnectionRegistry,
    private readonly polls: PollWaiter,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  get draining(): boolean {
    return this.outcome !== undefined;
  }

  onApplicationBootstrap(): void {
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    if (!server) return;
    server.on('connection', (socket: Socket) => {
      this.connections.set(socket, { inFlight: new Set(), served: 0 });
      socket.once('close', () => this.forget(socket));
    });
    // First in line, so a response that starts during the drain still gets `Connection: close`.
    server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => this.track(req, res));
  }

  /** Starts the drain (once; later calls share it) and resolves when it is over. */
  run(signal?: string): Promise<DrainOutcome> {
    this.outcome ??= this.drain(signal);
    return this.outcome;
  }

  private async drain(signal: string | undefined): Promise<DrainOutcome> {
    const startedAt = Date.now();
    const deadline = startedAt + this.config.drainTimeoutMs;
    this.registry.draining = true;
    const connections = this.connections.size;
    this.logger.log({
      msg: 'draining',
      signal: signal ?? null,
      streams: this.registry.open,
      connections,
      timeoutMs: this.config.drainTimeoutMs,
    });
    // Events accepted before the signal are queued for this turn's dispatch: let them go out first.
    await nextTurn();
    const streams = this.registry.open;
    const windowMs = Math.max(this.config.drainTimeoutMs, this.config.retryMs);
    let index = 0;
    this.registry.closeAll('draining', () => spreadRetry(index++, streams, windowMs));
    // Waiting long-polls answer now (empty, with their cursor), so they do not hold the drain.
    this.polls.drain();
    await nextTurn();
    for (const [socket, connection] of this.connections) {
      for (const res of connection.inFlight) this.endOtherStream(res);
      // Idle keep-alive connections go at once, busy ones when their response is done. A new one
      // whose request is still on its way is left alone: its response will say `Connection: close`.
      if (connection.inFlight.size === 0 && connection.served > 0) socket.end();
    }

    if (this.connections.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
        this.allGone = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.allGone = undefined;
    const cut = this.connections.size;
    for (const socket of [...this.connections.keys()]) socket.destroy();
    const outcome = { streams, connections, cut, durationMs: Date.now() - startedAt };
    this.logger.log({ msg: 'drained', ...outcome });
    return outcome;
  }

  private track(req: IncomingMessage, res: ServerResponse): void {
    const connection = this.connections.get(req.socket);
    if (this.draining && !res.headersSent) res.setHeader('Connection', 'close');
    if (!connection) return;
    connection.inFlight.add(res);
    connection.served++;
    res.once('close', () => {
      connection.inFlight.delete(res);
      // A response that was in flight when the drain began is done: end its connection after it.
      if (this.draining && connection.inFlight.size === 0 && !req.socket.destroyed) req.socket.end();
    });
  }

  /**
   * An event stream that is not one of the registry's (the dashboard's feed)
   * still ends with the same close frame, or it would hold the drain until the
   * deadline.
   */
  private endOtherStream(res: ServerResponse): void {
    if (!res.headersSent || res.writableEnded) return;
    // A started response to a request for an event stream is one (the header may have gone out via writeHead).
    const eventStream = /text\/event-stream/i;
    if (
      !eventStream.test(String(res.getHeader('content-type') ?? '')) &&
      !eventStream.test(res.req.headers.accept ?? '')
    ) {
      return;
    }
    res.end(encodeFrame({ event: 'close', data: JSON.stringify({ reason: 'draining' }) }));
  }

  private forget(socket: Socket): void {
    this.connections.delete(socket);
    if (this.connections.size === 0) this.allGone?.();
  }
}
