import { Module } from '@nestjs/common';
import { AdminConnectionsController } from './admin-connections.controller.js';
import { ConnectionRegistry } from './connection-registry.js';
import { EventsController } from './events.controller.js';
import { PollWaiter } from './poll-waiter.js';
import { PublishController } from './publish.controller.js';

@Module({
  controllers: [EventsController, PublishController, AdminConnectionsController],
  providers: [ConnectionRegistry, PollWaiter],
  exports: [ConnectionRegistry],
})
export class StreamsModule {}
