import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, UseGuards } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { AdminGuard } from '../auth/admin.guard.js';
import { TAGS } from '../openapi/tags.js';
import { ApiAdminAuth } from '../openapi/security.js';
import type { AlertRule } from './alert-model.js';
import { AlertsConfigService } from './alerts-config.service.js';
import { ApiCreateRule, ApiDeleteRule, ApiGetRule, ApiListRules, ApiReplaceRule } from './alerts.openapi.js';
import { RuleDto } from './dto/rule.dto.js';

/** `/v1/admin/alerts/rules`: CRUD; changes apply from the next monitoring snapshot. */
@Controller('v1/admin/alerts/rules')
@UseGuards(AdminGuard)
@ApiTags(TAGS.alerts)
@ApiAdminAuth()
export class AlertRulesController {
  constructor(private readonly configs: AlertsConfigService) {}

  @Get()
  @ApiListRules()
  list(): readonly AlertRule[] {
    return this.configs.rules;
  }

  @Post()
  @ApiCreateRule()
  create(@Body() dto: RuleDto): Promise<AlertRule> {
    return this.configs.createRule(dto);
  }

  @Get(':id')
  @ApiGetRule()
  get(@Param('id') id: string): AlertRule {
    return this.configs.rule(id);
  }

  @Put(':id')
  @ApiReplaceRule()
  replace(@Param('id') id: string, @Body() dto: RuleDto): Promise<AlertRule> {
    return this.configs.replaceRule(id, dto);
  }

  /** A rule deleted while firing sends its resolve at the next snapshot. */
  @Delete(':id')
  @HttpCode(204)
  @ApiDeleteRule()
  async remove(@Param('id') id: string): Promise<void> {
    await this.configs.deleteRule(id);
  }
}
