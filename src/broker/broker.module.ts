import { Global, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HERALD_CONFIG, type HeraldConfig } from '../config/herald-config.js';
import { BROKER_KINDS } from './broker-kinds.js';
import { BrokerHealthIndicator } from './broker.health.js';
import { EVENT_BROKER, type EventBroker } from './event-broker.js';

/** The event broker, and its health indicator for the probes to import. */
@Global()
@Module({
  imports: [TerminusModule],
  providers: [
    {
      provide: EVENT_BROKER,
      inject: [HERALD_CONFIG],
      // BROKER names an entry of BROKER_KINDS (memory by default; redis scales out).
      useFactory: (config: HeraldConfig): Promise<EventBroker> => BROKER_KINDS[config.broker].create(config),
    },
    BrokerHealthIndicator,
  ],
  exports: [EVENT_BROKER, BrokerHealthIndicator],
})
export class BrokerModule {}
