import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, UseGuards } from '@nestjs/common';
import { AdminGuard } from '../auth/admin.guard.js';
import type { AlertRule } from './alert-model.js';
import { AlertsConfigService } from './alerts-config.service.js';
import { RuleDto } from './dto/rule.dto.js';

/** `/v1/admin/alerts/rules`: CRUD; changes apply from the next monitoring snapshot. */
@Controller('v1/admin/alerts/rules')
@UseGuards(AdminGuard)
export class AlertRulesController {
  constructor(private readonly configs: AlertsConfigService) {}

  @Get()
  list(): readonly AlertRule[] {
    return this.configs.rules;
  }

  @Post()
  create(@Body() dto: RuleDto): Promise<AlertRule> {
    return this.configs.createRule(dto);
  }

  @Get(':id')
  get(@Param('id') id: string): AlertRule {
    return this.configs.rule(id);
  }

  @Put(':id')
  replace(@Param('id') id: string, @Body() dto: RuleDto): Promise<AlertRule> {
    return this.configs.replaceRule(id, dto);
  }

  /** A rule deleted while firing sends its resolve at the next snapshot. */
  @Delete(':id')
  @HttpCode(204)
  async remove(@Param('id') id: string): Promise<void> {
    await this.configs.deleteRule(id);
  }
}
