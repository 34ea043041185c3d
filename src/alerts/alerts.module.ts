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
import { ChannelKinds } from './channels/channel-kinds.js';
import { EmailChannel } from './channels/email.channel.js';
import { LogChannel } from './channels/log.channel.js';
import { SlackChannel } from './channels/slack.channel.js';
import { WebhookChannel } from './channels/webhook.channel.js';
import { FileDocumentStore } from '../store/file-document.store.js';
import { RedisDocumentStore } from '../store/redis-document.store.js';
import { ALERTS_STORE, type AlertsStore } from './store/alerts-store.js';

/** Every channel kind; a new kind is one class implementing `AlertChannel` and one entry here. */
const CHANNEL_KINDS = [SlackChannel, EmailChannel, WebhookChannel, LogChannel];

const channelsProvider: Provider = {
  provide: ALERT_CHANNELS,
  useFactory: (...channels: AlertChannel[]) => channels,
  inject: CHANNEL_KINDS,
};

const STORE_NAME = 'alerts store';

/** Redis when the broker is Redis (every instance shares one configuration), else the file. */
const storeProvider: Provider = {
  provide: ALERTS_STORE,
  useFactory: (config: HeraldConfig): AlertsStore =>
    config.broker === 'redis'
      ? new RedisDocumentStore(STORE_NAME, config.redisUrl, `${config.redisKeyPrefix}alerts`)
      : new FileDocumentStore(STORE_NAME, config.alertsStorePath),
  inject: [HERALD_CONFIG],
};

@Module({
  imports: [MonitoringModule],
  controllers: [AlertChannelsController, AlertRulesController, AlertHistoryController],
  providers: [
    ...CHANNEL_KINDS,
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
