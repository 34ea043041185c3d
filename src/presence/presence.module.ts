import { Inject, Module, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { sharesRedis } from '../broker/broker-kinds.js';
import { HERALD_CONFIG, type HeraldConfig } from '../config/herald-config.js';
import { MemoryPresence } from './memory-presence.js';
import { OCCUPANCY_SOURCE } from './occupancy-source.js';
import { PRESENCE, PresenceOff, type PresenceTracker } from './presence-tracker.js';
import { RedisPresence } from './redis-presence.js';
import { TopicsController } from './topics.controller.js';

/**
 * Presence: open streams counted per topic and member across instances
 * (memory, or Redis with BROKER=redis; PRESENCE=off tracks nothing), the
 * occupancy transitions the webhooks report, and the topic info routes.
 */
@Module({
  controllers: [TopicsController],
  providers: [
    {
      provide: PRESENCE,
      inject: [HERALD_CONFIG],
      useFactory: (config: HeraldConfig): PresenceTracker =>
        !config.presence
          ? new PresenceOff()
          : sharesRedis(config)
            ? new RedisPresence(config)
            : new MemoryPresence(config.vacatedGraceMs),
    },
    { provide: OCCUPANCY_SOURCE, useExisting: PRESENCE },
  ],
  exports: [PRESENCE, OCCUPANCY_SOURCE],
})
export class PresenceModule implements OnModuleInit, OnApplicationShutdown {
  constructor(@Inject(PRESENCE) private readonly presence: PresenceTracker) {}

  onModuleInit(): void {
    if (this.presence instanceof RedisPresence) this.presence.start();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.presence instanceof RedisPresence) await this.presence.stop();
    else if (this.presence instanceof MemoryPresence) this.presence.close();
  }
}
