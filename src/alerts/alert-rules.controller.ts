import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, UseGuards } from '@nestjs/common';
import {
  ApiBody,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { AdminGuard } from '../auth/admin.guard.js';
import { ApiErrors } from '../openapi/http-error.schema.js';
import { TAGS } from '../openapi/tags.js';
import { ApiAdminAuth } from '../openapi/security.js';
import type { AlertRule } from './alert-model.js';
import { AlertsConfigService } from './alerts-config.service.js';
import { AlertRuleView } from './alerts.schema.js';
import { RuleDto } from './dto/rule.dto.js';

/** The rule id in the path; each operation's example names a rule its documented call can use. */
const ruleId = (example: string): MethodDecorator =>
  ApiParam({ name: 'id', description: 'The rule id.', schema: { type: 'string', example } });
const RULE_EXAMPLES = {
  busy: {
    summary: 'More than 5,000 streams for a minute, at most one page every 10 minutes',
    value: {
      id: 'busy',
      name: 'Busy',
      metric: 'active_connections',
      op: '>',
      threshold: 5000,
      forSeconds: 60,
      severity: 'warning',
      cooldownSeconds: 600,
      channels: ['log'],
    },
  },
  minimal: {
    summary: 'Only what is required (defaults for the rest)',
    value: { name: 'Leak', metric: 'memory_leak_suspected', op: '>=', threshold: 1 },
  },
};
const BAD_RULE = {
  description: 'Invalid fields (every problem listed), or a channel id that is no channel.',
  examples: {
    badFields: [
      'metric must be one of active_connections, heap_used_mb, rss_mb, messages_per_second, delivery_p99_ms, event_loop_lag_p99_ms, slow_consumer_disconnects, memory_leak_suspected, capacity_ratio',
      'threshold must not be less than 0',
    ],
    unknownChannel: ['channels[0] is no channel: "nope"'],
  },
};
const NO_RULE = { description: 'No rule has this id.', examples: { unknown: 'no alert rule "nope"' } };
const NOT_SAVED = {
  description: 'The configuration could not be saved (file or Redis store failed); nothing changed.',
  examples: { storeFailed: 'the alert configuration could not be saved: ENOSPC: no space left on device' },
};

/** `/v1/admin/alerts/rules`: CRUD; changes apply from the next monitoring snapshot. */
@Controller('v1/admin/alerts/rules')
@UseGuards(AdminGuard)
@ApiTags(TAGS.alerts)
@ApiAdminAuth()
export class AlertRulesController {
  constructor(private readonly configs: AlertsConfigService) {}

  @Get()
  @ApiOperation({ operationId: 'listAlertRules', summary: 'List the alert rules' })
  @ApiOkResponse({ description: 'Every rule.', type: [AlertRuleView] })
  list(): readonly AlertRule[] {
    return this.configs.rules;
  }

  @Post()
  @ApiOperation({
    operationId: 'createAlertRule',
    summary: 'Add an alert rule',
    description: 'Evaluated from the next monitoring snapshot on (SNAPSHOT_INTERVAL_MS).',
  })
  @ApiBody({ type: RuleDto, examples: RULE_EXAMPLES })
  @ApiCreatedResponse({ description: 'Created, defaults filled in.', type: AlertRuleView })
  @ApiErrors({
    400: BAD_RULE,
    409: { description: 'The chosen `id` is taken.', examples: { taken: 'the id "busy" is taken' } },
    503: NOT_SAVED,
  })
  create(@Body() dto: RuleDto): Promise<AlertRule> {
    return this.configs.createRule(dto);
  }

  @Get(':id')
  @ApiOperation({ operationId: 'getAlertRule', summary: 'One alert rule' })
  @ruleId('capacity-high')
  @ApiOkResponse({ description: 'The rule.', type: AlertRuleView })
  @ApiErrors({ 404: NO_RULE })
  get(@Param('id') id: string): AlertRule {
    return this.configs.rule(id);
  }

  @Put(':id')
  @ApiOperation({
    operationId: 'replaceAlertRule',
    summary: 'Replace an alert rule',
    description: 'A firing alert is judged by the new condition from the next snapshot. Left-out fields take defaults.',
  })
  @ruleId('capacity-high')
  @ApiBody({
    type: RuleDto,
    examples: {
      critical: {
        summary: 'Page earlier, as critical',
        value: {
          id: 'capacity-high',
          name: 'Capacity high',
          metric: 'capacity_ratio',
          op: '>=',
          threshold: 0.8,
          severity: 'critical',
          channels: ['log'],
        },
      },
    },
  })
  @ApiOkResponse({ description: 'Replaced.', type: AlertRuleView })
  @ApiErrors({
    400: {
      ...BAD_RULE,
      examples: { ...BAD_RULE.examples, otherId: ['id must be "busy" (the id in the path) or left out'] },
    },
    404: NO_RULE,
    503: NOT_SAVED,
  })
  replace(@Param('id') id: string, @Body() dto: RuleDto): Promise<AlertRule> {
    return this.configs.replaceRule(id, dto);
  }

  /** A rule deleted while firing sends its resolve at the next snapshot. */
  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ operationId: 'deleteAlertRule', summary: 'Delete an alert rule (a firing alert resolves)' })
  @ruleId('busy')
  @ApiNoContentResponse({ description: 'Deleted.' })
  @ApiErrors({ 404: NO_RULE, 503: NOT_SAVED })
  async remove(@Param('id') id: string): Promise<void> {
    await this.configs.deleteRule(id);
  }
}
