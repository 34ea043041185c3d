import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { StreamsModule } from '../streams/streams.module.js';
import { DashboardController } from './dashboard.controller.js';
import { HeraldMetrics } from './herald-metrics.js';
import { MetricsController } from './metrics.controller.js';
import { MonitoringService } from './monitoring.service.js';
import { StatusController } from './status.controller.js';

/**
 * Monitoring: snapshots, leak detection, `/metrics` (@willsoto/nestjs-prometheus'
 * controller over HeraldMetrics' registry; its module is not needed, the
 * process-wide defaults are registered once by HeraldMetrics), `/status`,
 * `/dashboard`. Other modules (Alerts) import it for MonitoringService.
 */
@Module({
  imports: [StreamsModule, ScheduleModule.forRoot()],
  controllers: [StatusController, DashboardController, MetricsController],
  providers: [MonitoringService, HeraldMetrics],
  exports: [MonitoringService, HeraldMetrics],
})
export class MonitoringModule {}
