import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { StreamsModule } from '../streams/streams.module.js';
import { HeraldMetrics } from './herald-metrics.js';
import { MonitoringService } from './monitoring.service.js';

/** The monitors and their Prometheus registry, without HTTP (so the metrics endpoint can import them). */
@Module({
  imports: [StreamsModule, ScheduleModule.forRoot()],
  providers: [MonitoringService, HeraldMetrics],
  exports: [MonitoringService, HeraldMetrics],
})
export class MonitorsModule {}
