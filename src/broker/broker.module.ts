import { Global, Module } from '@nestjs/common';
import { EVENT_BROKER } from './event-broker.js';
import { MemoryBroker } from './memory.broker.js';

@Global()
@Module({
  providers: [MemoryBroker, { provide: EVENT_BROKER, useExisting: MemoryBroker }],
  exports: [EVENT_BROKER],
})
export class BrokerModule {}
