import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { EventStreams } from '@herald/nest-sse';
import { HERALD_CONFIG, type HeraldConfig } from '../config/herald-config.js';
import { ConnectionRegistry } from '../streams/connection-registry.js';
import { PollWaiter } from '../streams/poll-waiter.js';

const IN_FLIGHT = Symbol('herald.drain.in-flight');
const SERVED = Symbol('herald.drain.served');
/** A connection with its count of responses in flight and of responses it has had. */
type TrackedSocket = Socket & { [IN_FLIGHT]?: number; [SERVED]?: number };

export interface DrainOutcome {
  /** Subscriptions open when the drain began; each (and every other stream) got `event: close` (draining). */
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
  /** Open HTTP connections, each marked with the responses it has in flight and how many it has had. */
  private readonly connections = new Set<TrackedSocket>();
  // One listener function each for every socket and response: no closure per connection.
  private readonly onSocketClose: (this: TrackedSocket) => void;
  private readonly onResponseClose: (this: ServerResponse) => void;
  private outcome: Promise<DrainOutcome> | undefined;
  private server: Server | undefined;
  private allGone: (() => void) | undefined;

  constructor(
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    private readonly registry: ConnectionRegistry,
    private readonly polls: PollWaiter,
    private readonly adapterHost: HttpAdapterHost,
  ) {
    const forget = (socket: TrackedSocket): void => this.forget(socket);
    const draining = (): boolean => this.draining;
    this.onSocketClose = function (this: TrackedSocket): void {
      forget(this);
    };
    this.onResponseClose = function (this: ServerResponse): void {
      const socket = this.req.socket as TrackedSocket;
      socket[IN_FLIGHT] = (socket[IN_FLIGHT] ?? 1) - 1;
      // A response that was in flight when the drain began is done: end its connection after it.
      if (draining() && socket[IN_FLIGHT] === 0 && !socket.destroyed) socket.end();
    };
  }

  get draining(): boolean {
    return this.outcome !== undefined;
  }

  onApplicationBootstrap(): void {
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    if (!server) return;
    this.server = server;
    server.on('connection', (socket: TrackedSocket) => {
      this.connections.add(socket);
      socket.on('close', this.onSocketClose);
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
    this.registry.beginDrain();
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
    // Every open stream of every kind (subscriptions, the dashboard's feed) ends with `event: close`.
    const open = EventStreams.for(this.server);
    const streams = this.registry.open;
    const windowMs = Math.max(this.config.drainTimeoutMs, this.config.retryMs);
    let index = 0;
    const count = open.size;
    open.closeAll('draining', () => spreadRetry(index++, count, windowMs));
    // Waiting long-polls answer now (empty, with their cursor), so they do not hold the drain.
    this.polls.drain();
    await nextTurn();
    for (const socket of this.connections) {
      // Idle keep-alive connections go at once, busy ones when their response is done. A new one
      // whose request is still on its way is left alone: its response will say `Connection: close`.
      if ((socket[IN_FLIGHT] ?? 0) === 0 && (socket[SERVED] ?? 0) > 0) socket.end();
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
    for (const socket of [...this.connections]) socket.destroy();
    const outcome = { streams, connections, cut, durationMs: Date.now() - startedAt };
    this.logger.log({ msg: 'drained', ...outcome });
    return outcome;
  }

  private track(req: IncomingMessage, res: ServerResponse): void {
    if (this.draining && !res.headersSent) res.setHeader('Connection', 'close');
    const socket = req.socket as TrackedSocket;
    if (!this.connections.has(socket)) return;
    socket[IN_FLIGHT] = (socket[IN_FLIGHT] ?? 0) + 1;
    socket[SERVED] = (socket[SERVED] ?? 0) + 1;
    res.on('close', this.onResponseClose);
  }

  private forget(socket: TrackedSocket): void {
    this.connections.delete(socket);
    if (this.connections.size === 0) this.allGone?.();
  }
}
