import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
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
import {
  COMPARISONS,
  ID_PROPERTY,
  ID_PATTERN,
  ID_RULE,
  METRIC_RULE,
  RULE_PROPERTIES,
  SEVERITIES,
  type Comparison,
  type Severity,
} from '../alert-model.js';

const FINITE = { allowNaN: false, allowInfinity: false };
const DAY_SECONDS = 86_400;

/** Body of `POST|PUT /v1/admin/alerts/rules` (docs/operations.md, Alerts); answered as `AlertRule` (alert-model.ts). */
export class RuleDto {
  /** Chosen on create (else a UUID); on replace, the id of the path, as a GET returned it. */
  @ApiPropertyOptional({
    ...ID_PROPERTY,
    description: 'On create: choose a readable id (else a UUID is made; 409 if taken). On replace: the id of the path.',
    example: 'busy',
  })
  @IsOptional()
  @Matches(ID_PATTERN, { message: ID_RULE })
  id?: string;

  @ApiProperty(RULE_PROPERTIES.name)
  @IsString()
  @Length(1, 200)
  name!: string;

  @ApiProperty(RULE_PROPERTIES.metric)
  @IsIn(FIGURE_NAMES, { message: METRIC_RULE })
  metric!: FigureName;

  @ApiProperty(RULE_PROPERTIES.op)
  @IsIn(COMPARISONS, { message: `op must be one of ${COMPARISONS.join(' ')}` })
  op!: Comparison;

  /** Every figure is zero or more, so a negative threshold is a mistake. */
  @ApiProperty(RULE_PROPERTIES.threshold)
  @IsNumber(FINITE)
  @Min(0)
  threshold!: number;

  @ApiPropertyOptional(RULE_PROPERTIES.forSeconds)
  @IsOptional()
  @IsNumber(FINITE)
  @Min(0)
  @Max(DAY_SECONDS)
  forSeconds?: number;

  @ApiPropertyOptional(RULE_PROPERTIES.severity)
  @IsOptional()
  @IsIn(SEVERITIES, { message: `severity must be one of ${SEVERITIES.join(', ')}` })
  severity?: Severity;

  @ApiPropertyOptional(RULE_PROPERTIES.cooldownSeconds)
  @IsOptional()
  @IsNumber(FINITE)
  @Min(0)
  @Max(7 * DAY_SECONDS)
  cooldownSeconds?: number;

  @ApiPropertyOptional(RULE_PROPERTIES.channels)
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @ArrayUnique()
  @IsString({ each: true })
  channels?: string[];

  @ApiPropertyOptional(RULE_PROPERTIES.enabled)
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;
}

/** Defaults for what a rule body may leave out. */
export const RULE_DEFAULTS: Required<
  Pick<RuleDto, 'forSeconds' | 'severity' | 'cooldownSeconds' | 'channels' | 'enabled'>
> = { forSeconds: 0, severity: 'warning', cooldownSeconds: 300, channels: [], enabled: true };
