import { IsOptional, Matches } from 'class-validator';
import { ID_PATTERN, ID_RULE } from '../alert-model.js';

/** Query of `GET /v1/admin/alerts/history`. */
export class HistoryQueryDto {
  @IsOptional()
  @Matches(/^(?:[1-9][0-9]{0,2}|1000)$/, { message: 'limit must be a whole number from 1 to 1000' })
  limit?: string;

  @IsOptional()
  @Matches(ID_PATTERN, { message: `ruleId: ${ID_RULE}` })
  ruleId?: string;
}
