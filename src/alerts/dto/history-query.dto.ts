import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, Matches } from 'class-validator';
import { ID_PATTERN, ID_RULE } from '../alert-model.js';

/** Query of `GET /v1/admin/alerts/history`. */
export class HistoryQueryDto {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: 1000,
    default: 100,
    description: 'Most entries to answer.',
    example: 20,
  })
  @IsOptional()
  @Matches(/^(?:[1-9][0-9]{0,2}|1000)$/, { message: 'limit must be a whole number from 1 to 1000' })
  limit?: string;

  @ApiPropertyOptional({
    type: 'string',
    pattern: ID_PATTERN.source,
    description: 'Only the entries of this rule (`test` for channel tests).',
    example: 'capacity-high',
  })
  @IsOptional()
  @Matches(ID_PATTERN, { message: `ruleId: ${ID_RULE}` })
  ruleId?: string;
}
