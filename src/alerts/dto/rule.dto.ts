import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsNumber,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  Min,
} from 'class-validator';
import { FIGURE_NAMES, type FigureName } from '../../monitoring/figures.js';
import { COMPARISONS, ID_PATTERN, ID_RULE, SEVERITIES, type Comparison, type Severity } from '../alert-model.js';

const FINITE = { allowNaN: false, allowInfinity: false };
const DAY_SECONDS = 86_400;

/** Body of `POST|PUT /v1/admin/alerts/rules` (API.md, Administration). */
export class RuleDto {
  /** Chosen on create (else a UUID); on replace, the id of the path, as a GET returned it. */
  @IsOptional()
  @Matches(ID_PATTERN, { message: ID_RULE })
  id?: string;

  @IsString()
  @Length(1, 200)
  name!: string;

  @IsIn(FIGURE_NAMES, { message: `metric must be one of ${FIGURE_NAMES.join(', ')}` })
  metric!: FigureName;

  @IsIn(COMPARISONS, { message: `op must be one of ${COMPARISONS.join(' ')}` })
  op!: Comparison;

  /** Every figure is zero or more, so a negative threshold is a mistake. */
  @IsNumber(FINITE)
  @Min(0)
  threshold!: number;

  @IsOptional()
  @IsNumber(FINITE)
  @Min(0)
  @Max(DAY_SECONDS)
  forSeconds?: number;

  @IsOptional()
  @IsIn(SEVERITIES, { message: `severity must be one of ${SEVERITIES.join(', ')}` })
  severity?: Severity;

  @IsOptional()
  @IsNumber(FINITE)
  @Min(0)
  @Max(7 * DAY_SECONDS)
  cooldownSeconds?: number;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @ArrayUnique()
  @IsString({ each: true })
  channels?: string[];

  @IsOptional()
  @IsBoolean()
  enabled?: boolean;
}

/** Defaults for what a rule body may leave out. */
export const RULE_DEFAULTS: Required<
  Pick<RuleDto, 'forSeconds' | 'severity' | 'cooldownSeconds' | 'channels' | 'enabled'>
> = { forSeconds: 0, severity: 'warning', cooldownSeconds: 300, channels: [], enabled: true };
