import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { EVENT_BROKER, type EventBroker } from './event-broker.js';

/** How often the broker is pinged, and how long one ping may take before it counts as down. */
export const BROKER_PING_INTERVAL_MS = 1_000;
export const BROKER_PING_TIMEOUT_MS = 1_000;

/**
 * Broker reachability for the probes. The broker is pinged in the background
 * (with a timeout), never on the probe's request: a probe reads the last
 * answer in O(1), so it stays fast under load, and a hung broker turns it
 * `down` instead of hanging it.
 */
@Injectable()
export class BrokerHealthIndicator implements OnApplicationBootstrap, OnModuleDestroy {
  private last: { result: HealthIndicatorResult<'broker'>; at: number } | undefined;
  private connectedOnce = false;
  private pinging = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(EVENT_BROKER) private readonly broker: EventBroker,
    private readonly health: HealthIndicatorService,
  ) {}

  onApplicationBootstrap(): void {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), BROKER_PING_INTERVAL_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** One ping, bounded by the timeout; the outcome is what the probes read next. */
  async refresh(now: () => number = Date.now): Promise<void> {
    if (this.pinging) return;
    this.pinging = true;
    try {
      const result = await this.health
        .check('broker')
        .attempt(() => this.broker.ping(BROKER_PING_TIMEOUT_MS).then(() => ({ kind: this.broker.kind })))
        .withTimeout(BROKER_PING_TIMEOUT_MS);
      if (result.broker.status === 'up') this.connectedOnce = true;
      this.last = { result, at: now() };
    } finally {
      this.pinging = false;
    }
  }

  /** Up when the last ping answered in time and is recent. */
  isReachable(now = Date.now()): HealthIndicatorResult<'broker'> {
    const session = this.health.check('broker');
    if (this.last === undefined) return session.down({ kind: this.broker.kind, message: 'not pinged yet' });
    const ageMs = now - this.last.at;
    // Each ping is bounded by its timeout, so an answer this old means the pinger itself has stalled.
    if (ageMs > BROKER_PING_INTERVAL_MS + 2 * BROKER_PING_TIMEOUT_MS) {
      return session.down({ kind: this.broker.kind, message: `no answer for ${ageMs} ms` });
    }
    return { broker: { ...this.last.result.broker, ageMs } };
  }

  /** Up once the broker has answered a ping at least once since start (the startup probe). */
  hasConnected(): HealthIndicatorResult<'broker'> {
    const session = this.health.check('broker');
    return this.connectedOnce
      ? session.up({ kind: this.broker.kind })
      : session.down({ kind: this.broker.kind, message: 'not connected yet' });
  }
}
