import { Controller, Get, Res, UseGuards } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { PrometheusController } from '@willsoto/nestjs-prometheus';
import type { Response } from 'express';
import { MetricsGuard } from '../auth/metrics.guard.js';
import { ApiMetricsAuth } from '../openapi/security.js';
import { TAGS } from '../openapi/tags.js';
import { HeraldMetrics } from './herald-metrics.js';
import { ApiMetrics } from './monitoring.openapi.js';

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
  @ApiMetrics()
  override async index(@Res({ passthrough: true }) response: Response): Promise<string> {
    response.header('Content-Type', this.metrics.contentType);
    response.header('Cache-Control', 'no-store');
    return this.metrics.exposition();
  }
}
