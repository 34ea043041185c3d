import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { BrokerModule } from '../broker/broker.module.js';
import { StreamsModule } from '../streams/streams.module.js';
import { Drain } from './drain.js';
import { HealthController } from './health.controller.js';
import { DEFAULT_PROCESS_LIMITS, PROCESS_LIMITS, ProcessHealthIndicator } from './process.health.js';

/**
 * Composes the indicators exported by the modules they check (broker, streams)
 * and the process' own into the three probes, and owns the graceful drain.
 */
@Module({
  // Failing probes are logged once per readiness change by the controller, not once per probe.
  imports: [TerminusModule.forRoot({ logger: false }), BrokerModule, StreamsModule],
  controllers: [HealthController],
  providers: [{ provide: PROCESS_LIMITS, useValue: DEFAULT_PROCESS_LIMITS }, ProcessHealthIndicator, Drain],
  exports: [Drain],
})
export class HealthModule {}
