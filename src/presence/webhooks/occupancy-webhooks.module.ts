import { Module, type DynamicModule, type Provider, type Type } from '@nestjs/common';
import { makeCounterProvider } from '@willsoto/nestjs-prometheus';
import { HERALD_CONFIG, type HeraldConfig } from '../../config/herald-config.js';
import type { DocumentStore } from '../../store/document-store.js';
import { documentStoreFor } from '../../store/document-store-for.js';
import type { OccupancyWebhooksDocument } from './occupancy-webhook.dto.js';
import { OccupancyWebhookDispatcher, PRESENCE_WEBHOOKS_METRIC } from './occupancy-webhook-dispatcher.js';
import { OCCUPANCY_WEBHOOKS_STORE, OccupancyWebhooksConfig } from './occupancy-webhooks.config.js';
import { OccupancyWebhooksController } from './occupancy-webhooks.controller.js';

const STORE_NAME = 'occupancy webhooks store';

/** Redis when the broker kind shares Redis (every instance shares the webhooks), else a file beside the alerts'. */
const storeProvider: Provider = {
  provide: OCCUPANCY_WEBHOOKS_STORE,
  useFactory: (config: HeraldConfig): DocumentStore<OccupancyWebhooksDocument> =>
    documentStoreFor(config, STORE_NAME, 'occupancy-webhooks', config.occupancyWebhooksStorePath),
  inject: [HERALD_CONFIG],
};

/**
 * Occupancy webhooks: their admin API, their store, and the dispatcher that
 * POSTs each transition of OCCUPANCY_SOURCE. The source is not provided here:
 * `forSource` takes the module that exports it (PresenceModule in the app, a
 * fake in tests).
 */
@Module({})
export class OccupancyWebhooksModule {
  static forSource(source: Type | DynamicModule): DynamicModule {
    return {
      module: OccupancyWebhooksModule,
      imports: [source],
      controllers: [OccupancyWebhooksController],
      providers: [
        storeProvider,
        makeCounterProvider({
          name: PRESENCE_WEBHOOKS_METRIC,
          help: 'Occupancy webhook deliveries by event and outcome (delivered, failed after its retries, dropped unsent)',
          labelNames: ['event', 'result'],
        }),
        OccupancyWebhooksConfig,
        OccupancyWebhookDispatcher,
      ],
    };
  }
}
