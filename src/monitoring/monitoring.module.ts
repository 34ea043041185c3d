import { Module } from '@nestjs/common';
import { StreamsModule } from '../streams/streams.module.js';
import { MonitoringService } from './monitoring.service.js';

@Module({
  imports: [StreamsModule],
  providers: [MonitoringService],
  exports: [MonitoringService],
})
export class MonitoringModule {}
