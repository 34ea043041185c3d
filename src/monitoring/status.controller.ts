import { Controller, Get, Header, UseGuards } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { MetricsGuard } from '../auth/metrics.guard.js';
import { ApiMetricsAuth } from '../openapi/security.js';
import { TAGS } from '../openapi/tags.js';
import { ApiStatus } from './monitoring.openapi.js';
import { MonitoringService } from './monitoring.service.js';
import type { HeraldStatus } from './status.js';

/** `GET /status`: the JSON snapshot of docs/operations.md (Metrics, status and dashboard). */
@Controller('status')
@ApiTags(TAGS.operations)
@UseGuards(MetricsGuard)
@ApiMetricsAuth()
export class StatusController {
  constructor(private readonly monitoring: MonitoringService) {}

  @Get()
  @Header('Cache-Control', 'no-store')
  @ApiStatus()
  status(): HeraldStatus {
    return this.monitoring.status();
  }
}
