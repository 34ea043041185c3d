import { Controller, Get, Header } from '@nestjs/common';
import { MonitoringService } from './monitoring.service.js';
import type { HeraldStatus } from './status.js';

/** `GET /status`: the JSON snapshot of API.md. */
@Controller('status')
export class StatusController {
  constructor(private readonly monitoring: MonitoringService) {}

  @Get()
  @Header('Cache-Control', 'no-store')
  status(): HeraldStatus {
    return this.monitoring.status();
  }
}
