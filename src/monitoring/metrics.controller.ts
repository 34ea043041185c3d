import { Controller, Get, Res } from '@nestjs/common';
import { PrometheusController } from '@willsoto/nestjs-prometheus';
import type { Response } from 'express';
import { HeraldMetrics } from './herald-metrics.js';

/** `GET /metrics`: @willsoto/nestjs-prometheus' endpoint, serving this app's registry. */
@Controller('metrics')
export class MetricsController extends PrometheusController {
  constructor(private readonly metrics: HeraldMetrics) {
    super();
  }

  @Get()
  override async index(@Res({ passthrough: true }) response: Response): Promise<string> {
    response.header('Content-Type', this.metrics.contentType);
    response.header('Cache-Control', 'no-store');
    return this.metrics.exposition();
  }
}
