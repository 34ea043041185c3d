import { Controller, Get, Res, UseGuards } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { PrometheusController } from '@willsoto/nestjs-prometheus';
import type { Response } from 'express';
import { MetricsGuard } from '../auth/metrics.guard.js';
import { ApiMetricsAuth } from '../openapi/security.js';
import { TAGS } from '../openapi/tags.js';
import { HeraldMetrics } from './herald-metrics.js';

/** `GET /metrics`: @willsoto/nestjs-prometheus' endpoint, serving this app's registry. */
@Controller('metrics')
@ApiTags(TAGS.operations)
@UseGuards(MetricsGuard)
@ApiMetricsAuth()
export class MetricsController extends PrometheusController {
  constructor(private readonly metrics: HeraldMetrics) {
    super();
  }

  @Get()
  @ApiOperation({
    operationId: 'getMetrics',
    summary: 'Prometheus metrics (text exposition format)',
    description:
      '`herald_*` (connections active/opened/closed/refused by reason, events published, deliveries, delivery ' +
      'bytes and latency, capacity ratio, leak suspected, alert notifications) plus the default `process_*` ' +
      'and `nodejs_*`. Passes `promtool check metrics`. Open unless METRICS_TOKEN is set (then Bearer that ' +
      'token); either way scrape it from inside your network, never through the public proxy.',
  })
  @ApiOkResponse({
    description: 'The exposition, `text/plain; version=0.0.4`.',
    headers: { 'Cache-Control': { required: true, schema: { type: 'string', enum: ['no-store'] } } },
    content: {
      'text/plain': {
        schema: { type: 'string' },
        example:
          '# HELP herald_connections_active Open SSE streams.\n# TYPE herald_connections_active gauge\n' +
          'herald_connections_active 4213\n',
      },
    },
  })
  override async index(@Res({ passthrough: true }) response: Response): Promise<string> {
    response.header('Content-Type', this.metrics.contentType);
    response.header('Cache-Control', 'no-store');
    return this.metrics.exposition();
  }
}
