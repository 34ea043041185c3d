import { Injectable } from '@nestjs/common';
import { ConnectionRegistry } from './connection-registry.js';
import { StreamCounters, type CounterReadings } from './stream-counters.js';

/** What Streams shows other modules (monitoring, metrics): live counts and the counters, read-only. */
@Injectable()
export class StreamStats {
  constructor(
    private readonly registry: ConnectionRegistry,
    private readonly streamCounters: StreamCounters,
  ) {}

  /** Open streams. */
  get open(): number {
    return this.registry.open;
  }

  /** Topics with at least one open stream on this instance. */
  get activeTopics(): number {
    return this.registry.activeTopics;
  }

  get counters(): CounterReadings {
    return this.streamCounters;
  }

  /** Connection counts of the `limit` busiest IPs. */
  topIps(limit: number): Record<string, number> {
    return this.registry.topIps(limit);
  }

  /** Open streams on each of the `limit` busiest topics. */
  topTopics(limit: number): Record<string, number> {
    return this.registry.topTopics(limit);
  }
}
