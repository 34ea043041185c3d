import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { AdminGuard } from '../auth/admin.guard.js';
import { TAGS } from '../openapi/tags.js';
import { ApiAdminAuth } from '../openapi/security.js';
import type { AlertHistoryEntry } from './alert-history.js';
import { ApiListActive, ApiListHistory } from './alerts.openapi.js';
import { AlertsService } from './alerts.service.js';
import type { LiveAlertView } from './dto/live-alert.dto.js';
import { HistoryQueryDto } from './dto/history-query.dto.js';

@Controller('v1/admin/alerts')
@UseGuards(AdminGuard)
@ApiTags(TAGS.alerts)
@ApiAdminAuth()
export class AlertHistoryController {
  constructor(private readonly alerts: AlertsService) {}

  /** Fired, resolved and test alerts with their deliveries, newest first (`limit` 1–1000, default 100). */
  @Get('history')
  @ApiListHistory()
  history(@Query() query: HistoryQueryDto): AlertHistoryEntry[] {
    return this.alerts.recent(query.limit === undefined ? 100 : Number(query.limit), query.ruleId);
  }

  /** Alerts whose condition holds now: pending (waiting out `forSeconds`) or firing. */
  @Get('active')
  @ApiListActive()
  active(): LiveAlertView[] {
    return this.alerts.live();
  }
}
