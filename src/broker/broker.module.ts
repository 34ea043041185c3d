import { Global, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HERALD_CONFIG, type HeraldConfig } from '../config/herald-config.js';
import { BrokerHealthIndicator } from './broker.health.js';
import { EVENT_BROKER, type EventBroker } from './event-broker.js';
import { MemoryBroker } from './memory.broker.js';
import { RedisBroker } from './redis.broker.js';

@Global()
@Module({
  imports: [TerminusModule],
  providers: [
    BrokerHealthIndicator,
    {
      provide: EVENT_BROKER,
      inject: [HERALD_CONFIG],
      // BROKER=redis scales out over Redis; the embedded memory broker needs nothing else.
      useFactory: (config: HeraldConfig): EventBroker =>
        config.broker === 'redis' ? new RedisBroker(config) : new MemoryBroker(config),
    },
  ],
  exports: [EVENT_BROKER, BrokerHealthIndicator],
})
export class BrokerModule {}
