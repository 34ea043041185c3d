import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { BrokerHealthIndicator } from '../broker/broker.health.js';
import { CapacityHealthIndicator } from '../streams/capacity.health.js';
import { StreamsModule } from '../streams/streams.module.js';
import { Drain } from './drain.js';
import { HealthController } from './health.controller.js';
import { ProcessHealthIndicator } from './process.health.js';

/**
 * Composes the indicators that live with what they check (broker, streams,
 * the process) into the three probes, and owns the graceful drain.
 */
@Module({
  // Failing probes are logged once per readiness change by the controller, not once per probe.
  imports: [TerminusModule.forRoot({ logger: false }), StreamsModule],
  controllers: [HealthController],
  providers: [BrokerHealthIndicator, CapacityHealthIndicator, ProcessHealthIndicator, Drain],
  exports: [Drain],
})
export class HealthModule {}
