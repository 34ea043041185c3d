import { DynamicModule, Module } from '@nestjs/common';
import { AlertsModule } from './alerts/alerts.module.js';
import { AuthModule } from './auth/auth.module.js';
import { BrokerModule } from './broker/broker.module.js';
import { ClientAssetsModule } from './client-assets/client-assets.module.js';
import { ConfigModule } from './config/config.module.js';
import type { HeraldConfig } from './config/herald-config.js';
import { HealthModule } from './health/health.module.js';
import { IndexController } from './http/index.controller.js';
import { MonitoringModule } from './monitoring/monitoring.module.js';
import { PresenceModule } from './presence/presence.module.js';
import { OccupancyWebhooksModule } from './presence/webhooks/occupancy-webhooks.module.js';
import { ProcessModule } from './process/process.module.js';
import { StreamsModule } from './streams/streams.module.js';

@Module({})
export class AppModule {
  static forRoot(config: HeraldConfig): DynamicModule {
    return {
      module: AppModule,
      controllers: [IndexController],
      imports: [
        ConfigModule.forRoot(config),
        ProcessModule,
        AuthModule,
        BrokerModule,
        StreamsModule,
        MonitoringModule,
        HealthModule,
        AlertsModule,
        OccupancyWebhooksModule.forSource(PresenceModule),
        ClientAssetsModule,
      ],
    };
  }
}
