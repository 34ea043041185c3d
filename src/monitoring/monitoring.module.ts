import { Module } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { DashboardController } from './dashboard.controller.js';
import { MetricsController } from './metrics.controller.js';
import { MonitorsModule } from './monitors.module.js';
import { StatusController } from './status.controller.js';

/**
 * Monitoring: snapshots, leak detection, `/metrics`, `/status`, `/dashboard`.
 * Other modules (Alerts) import it for MonitoringService.
 */
@Module({
  imports: [
    MonitorsModule,
    PrometheusModule.registerAsync({
      imports: [MonitorsModule],
      controller: MetricsController,
      // The process-wide defaults are registered once by HeraldMetrics, not once per app.
      useFactory: () => ({ defaultMetrics: { enabled: false } }),
    }),
  ],
  controllers: [StatusController, DashboardController],
  exports: [MonitorsModule],
})
export class MonitoringModule {}
