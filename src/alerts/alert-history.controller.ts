import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { AdminGuard } from '../auth/admin.guard.js';
import type { AlertHistoryEntry } from './alert-history.js';
import { AlertsService, type LiveAlertView } from './alerts.service.js';
import { HistoryQueryDto } from './dto/history-query.dto.js';

@Controller('v1/admin/alerts')
@UseGuards(AdminGuard)
export class AlertHistoryController {
  constructor(private readonly alerts: AlertsService) {}

  /** Fired, resolved and test alerts with their deliveries, newest first (`limit` 1–1000, default 100). */
  @Get('history')
  history(@Query() query: HistoryQueryDto): AlertHistoryEntry[] {
    return this.alerts.recent(query.limit === undefined ? 100 : Number(query.limit), query.ruleId);
  }

  /** Alerts whose condition holds now: pending (waiting out `forSeconds`) or firing. */
  @Get('active')
  active(): LiveAlertView[] {
    return this.alerts.live();
  }
}
