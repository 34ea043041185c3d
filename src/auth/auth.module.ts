import { Global, Module } from '@nestjs/common';
import { AdminGuard } from './admin.guard.js';
import { MetricsGuard } from './metrics.guard.js';

@Global()
@Module({ providers: [AdminGuard, MetricsGuard], exports: [AdminGuard, MetricsGuard] })
export class AuthModule {}
