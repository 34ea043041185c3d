import { ApiProperty, ApiPropertyOptional, ApiSchema, getSchemaPath } from '@nestjs/swagger';
import type { HealthCheckResult, HealthCheckStatus } from '@nestjs/terminus';

/** OpenAPI documentation of the Terminus probes' answers. */

@ApiSchema({ description: 'One indicator: `up` or `down`, with what it measured.' })
export class HealthIndicatorState {
  @ApiProperty({ enum: ['up', 'down'], example: 'up' })
  status!: 'up' | 'down';
}

const INDICATORS = {
  type: 'object',
  additionalProperties: { $ref: getSchemaPath(HealthIndicatorState) },
} as const;

@ApiSchema({
  name: 'HealthCheck',
  description: 'A Terminus health check: the overall status and each indicator (`details` has them all).',
})
export class HealthCheckView implements HealthCheckResult {
  @ApiProperty({ enum: ['ok', 'error', 'shutting_down'], example: 'ok' })
  status!: HealthCheckStatus;

  @ApiPropertyOptional({
    ...INDICATORS,
    description: 'The indicators that are up.',
    example: { broker: { status: 'up' } },
  })
  info?: Record<string, HealthIndicatorState>;

  @ApiPropertyOptional({ ...INDICATORS, description: 'The indicators that are down.', example: {} })
  error?: Record<string, HealthIndicatorState>;

  @ApiProperty({ ...INDICATORS, description: 'Every indicator.', example: { broker: { status: 'up' } } })
  details!: Record<string, HealthIndicatorState>;
}
