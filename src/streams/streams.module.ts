import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { ThrottlerModule } from '@nestjs/throttler';
import { HERALD_CONFIG, type HeraldConfig } from '../config/herald-config.js';
import { PresenceModule } from '../presence/presence.module.js';
import { AdminConnectionsController } from './admin-connections.controller.js';
import { CapacityHealthIndicator } from './capacity.health.js';
import { ConnectionRegistry } from './connection-registry.js';
import { EventsController } from './events.controller.js';
import { PollWaiter } from './poll-waiter.js';
import { PublishController } from './publish.controller.js';
import { StreamCounters } from './stream-counters.js';
import { StreamStats } from './stream-stats.js';
import { PublishRateStorage } from './guards/publish-rate-storage.js';

@Module({
  imports: [
    PresenceModule,
    TerminusModule,
    ThrottlerModule.forRootAsync({
      inject: [HERALD_CONFIG],
      useFactory: (config: HeraldConfig) => ({
        throttlers: [{ ttl: config.publishRateWindowMs, limit: config.publishRateLimit }],
        storage: new PublishRateStorage(),
      }),
    }),
  ],
  controllers: [EventsController, PublishController, AdminConnectionsController],
  providers: [StreamCounters, ConnectionRegistry, StreamStats, PollWaiter, CapacityHealthIndicator],
  exports: [ConnectionRegistry, StreamStats, PollWaiter, CapacityHealthIndicator],
})
export class StreamsModule {}
