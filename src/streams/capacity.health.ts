import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { HERALD_CONFIG, type HeraldConfig } from '../config/herald-config.js';
import { ConnectionRegistry } from './connection-registry.js';

/**
 * Whether this instance takes new streams: the readiness side of admission.
 * Both read O(1) state of the registry, so a probe costs the same with 10 or
 * 10,000 open streams.
 */
@Injectable()
export class CapacityHealthIndicator {
  constructor(
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    private readonly registry: ConnectionRegistry,
    private readonly health: HealthIndicatorService,
  ) {}

  /** Down at or above CAPACITY_THRESHOLD × MAX_CONNECTIONS, where new subscriptions get 503. */
  isBelowThreshold(): HealthIndicatorResult<'capacity'> {
    const { capacityThreshold, maxConnections } = this.config;
    const active = this.registry.active;
    const threshold = Math.floor(capacityThreshold * maxConnections);
    const data = { active, threshold, max: maxConnections, ratio: round(active / maxConnections) };
    const session = this.health.check('capacity');
    return active >= threshold ? session.down(data) : session.up(data);
  }

  /** Down once shutdown has begun: the instance only winds down its streams. */
  isNotDraining(): HealthIndicatorResult<'draining'> {
    const session = this.health.check('draining');
    return this.registry.draining
      ? session.down({ message: 'shutting down; streams are being moved to other instances' })
      : session.up();
  }
}

function round(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}
