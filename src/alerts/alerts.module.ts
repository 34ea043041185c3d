import { Module, type Provider } from '@nestjs/common';
import { makeCounterProvider } from '@willsoto/nestjs-prometheus';
import { HERALD_CONFIG, type HeraldConfig } from '../config/herald-config.js';
import { MonitoringModule } from '../monitoring/monitoring.module.js';
import { AlertChannelsController } from './alert-channels.controller.js';
import { AlertDispatcher, NOTIFICATIONS_METRIC } from './alert-dispatcher.js';
import { AlertHistoryController } from './alert-history.controller.js';
import { AlertRulesController } from './alert-rules.controller.js';
import { AlertsConfigService } from './alerts-config.service.js';
import { AlertsService } from './alerts.service.js';
import { ALERT_CHANNELS, type AlertChannel } from './channels/alert-channel.js';
import { CHANNEL_KINDS, ChannelKinds } from './channels/channel-kinds.js';
import { documentStoreFor } from '../store/document-store-for.js';
import { ALERTS_STORE, type AlertsStore } from './store/alerts-store.js';

/** The provider of every channel kind in the registry (channels/channel-kinds.ts). */
const CHANNEL_PROVIDERS = CHANNEL_KINDS.map((kind) => kind.provider);

const channelsProvider: Provider = {
  provide: ALERT_CHANNELS,
  useFactory: (...channels: AlertChannel[]) => channels,
  inject: CHANNEL_PROVIDERS,
};

const STORE_NAME = 'alerts store';

/** Redis when the broker kind shares Redis (every instance shares one configuration), else the file. */
const storeProvider: Provider = {
  provide: ALERTS_STORE,
  useFactory: (config: HeraldConfig): AlertsStore =>
    documentStoreFor(config, STORE_NAME, 'alerts', config.alertsStorePath),
  inject: [HERALD_CONFIG],
};

@Module({
  imports: [MonitoringModule],
  controllers: [AlertChannelsController, AlertRulesController, AlertHistoryController],
  providers: [
    ...CHANNEL_PROVIDERS,
    channelsProvider,
    ChannelKinds,
    storeProvider,
    makeCounterProvider({
      name: NOTIFICATIONS_METRIC,
      help: 'Alert notifications by channel kind and outcome (delivered, failed after its retries)',
      labelNames: ['channel_kind', 'result'],
    }),
    AlertDispatcher,
    AlertsConfigService,
    AlertsService,
  ],
  exports: [AlertsService],
})
export class AlertsModule {}
