import { Global, Module } from '@nestjs/common';
import { EventLoopSampler } from './event-loop-sampler.js';

/** What every module may read about the process itself: the one event-loop sampler. */
@Global()
@Module({
  providers: [{ provide: EventLoopSampler, useFactory: () => new EventLoopSampler() }],
  exports: [EventLoopSampler],
})
export class ProcessModule {}
