import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminGuard } from '../auth/admin.guard.js';
import { ApiErrors } from '../openapi/http-error.schema.js';
import { TAGS } from '../openapi/tags.js';
import { ApiAdminAuth } from '../openapi/security.js';
import type { AlertHistoryEntry } from './alert-history.js';
import { AlertHistoryEntryView, LiveAlertViewSchema } from './alerts.schema.js';
import { AlertsService, type LiveAlertView } from './alerts.service.js';
import { HistoryQueryDto } from './dto/history-query.dto.js';

@Controller('v1/admin/alerts')
@UseGuards(AdminGuard)
@ApiTags(TAGS.alerts)
@ApiAdminAuth()
export class AlertHistoryController {
  constructor(private readonly alerts: AlertsService) {}

  /** Fired, resolved and test alerts with their deliveries, newest first (`limit` 1–1000, default 100). */
  @Get('history')
  @ApiOperation({
    operationId: 'listAlertHistory',
    summary: 'Fired, resolved and test alerts with their deliveries, newest first',
    description: 'Kept in memory per instance (the last 500).',
  })
  @ApiOkResponse({ description: 'The entries.', type: [AlertHistoryEntryView] })
  @ApiErrors({
    400: {
      description: 'A bad `limit` or `ruleId`.',
      examples: { badLimit: ['limit must be a whole number from 1 to 1000'] },
    },
  })
  history(@Query() query: HistoryQueryDto): AlertHistoryEntry[] {
    return this.alerts.recent(query.limit === undefined ? 100 : Number(query.limit), query.ruleId);
  }

  /** Alerts whose condition holds now: pending (waiting out `forSeconds`) or firing. */
  @Get('active')
  @ApiOperation({ operationId: 'listActiveAlerts', summary: 'Alerts whose condition holds now: pending or firing' })
  @ApiOkResponse({ description: 'The live alerts.', type: [LiveAlertViewSchema] })
  active(): LiveAlertView[] {
    return this.alerts.live();
  }
}
