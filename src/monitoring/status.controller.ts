import { Controller, Get, Header, UseGuards } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { MetricsGuard } from '../auth/metrics.guard.js';
import { ApiMetricsAuth } from '../openapi/security.js';
import { TAGS } from '../openapi/tags.js';
import { StatusView } from './dto/status.dto.js';
import { MonitoringService } from './monitoring.service.js';
import type { HeraldStatus } from './status.js';

/** `GET /status`: the JSON snapshot of API.md. */
@Controller('status')
@ApiTags(TAGS.operations)
@UseGuards(MetricsGuard)
@ApiMetricsAuth()
export class StatusController {
  constructor(private readonly monitoring: MonitoringService) {}

  @Get()
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    operationId: 'getStatus',
    summary: 'A JSON snapshot of connections, memory (with leak detection), throughput and firing alerts',
    description:
      'Open unless METRICS_TOKEN is set (then Bearer that token), like `/metrics`; keep it off the public ' +
      'internet either way (it lists the busiest client IPs). ' +
      'Rates and percentiles are as of the last monitoring snapshot (SNAPSHOT_INTERVAL_MS).',
  })
  @ApiOkResponse({
    type: StatusView,
    description: 'The snapshot. Fields beyond API.md are extensions, never renames.',
    headers: { 'Cache-Control': { required: true, schema: { type: 'string', enum: ['no-store'] } } },
  })
  status(): HeraldStatus {
    return this.monitoring.status();
  }
}
