import { applyDecorators } from '@nestjs/common';
import { ApiOperation, ApiProperty, ApiPropertyOptional, ApiResponse, ApiSchema, getSchemaPath } from '@nestjs/swagger';
import type { HealthCheckResult, HealthCheckStatus } from '@nestjs/terminus';

/** OpenAPI documentation of the probes: Terminus' answer as a schema, one decorator per probe. */

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

/** A probe's two answers, both Terminus' result (a 503 names the indicators that are down). */
function ApiProbe(operationId: string, summary: string, up: object, down: object): MethodDecorator {
  const answer = (status: number, description: string, example: object) =>
    ApiResponse({
      status,
      description,
      headers: {
        'Cache-Control': { required: true, schema: { type: 'string', enum: ['no-cache, no-store, must-revalidate'] } },
      },
      content: { 'application/json': { schema: { $ref: getSchemaPath(HealthCheckView) }, example } },
    });
  return applyDecorators(
    ApiOperation({ operationId, summary }),
    answer(200, 'Every indicator is up.', up),
    answer(503, 'An indicator is down (`error` names it). Not the usual error body: the result itself.', down),
  );
}

const BROKER_UP = { broker: { status: 'up', kind: 'memory' } };
const CAPACITY_UP = { status: 'up', active: 4213, threshold: 9000, max: 10000, ratio: 0.4213 };
const HEAP_UP = { status: 'up', usedMb: 61, limitMb: 2048 };
const STALLED = {
  status: 'down',
  message: 'event loop blocked for 1312 ms (bound 1000 ms)',
  stallMs: 1312,
  stalledAgoMs: 2400,
};

/** `GET /health/live`. */
export function ApiLiveness(): MethodDecorator {
  return ApiProbe(
    'getLiveness',
    'Liveness: 503 only when the process is wedged (event loop stalled, heap at its limit), so a restart helps',
    {
      status: 'ok',
      info: { eventLoop: { status: 'up', recentMaxLagMs: 12, boundMs: 1000 }, heap: HEAP_UP },
      error: {},
      details: { eventLoop: { status: 'up', recentMaxLagMs: 12, boundMs: 1000 }, heap: HEAP_UP },
    },
    {
      status: 'error',
      info: { heap: HEAP_UP },
      error: { eventLoop: STALLED },
      details: { eventLoop: STALLED, heap: HEAP_UP },
    },
  );
}

/** `GET /health/ready`. */
export function ApiReadiness(): MethodDecorator {
  return ApiProbe(
    'getReadiness',
    'Readiness: 503 while starting, draining, with the broker unreachable, or at the capacity threshold',
    {
      status: 'ok',
      info: { draining: { status: 'up' }, ...BROKER_UP, capacity: CAPACITY_UP },
      error: {},
      details: { draining: { status: 'up' }, ...BROKER_UP, capacity: CAPACITY_UP },
    },
    {
      status: 'error',
      info: { ...BROKER_UP, capacity: CAPACITY_UP },
      error: { draining: { status: 'down', message: 'shutting down; streams are being moved to other instances' } },
      details: {
        draining: { status: 'down', message: 'shutting down; streams are being moved to other instances' },
        ...BROKER_UP,
        capacity: CAPACITY_UP,
      },
    },
  );
}

/** `GET /health/startup`. */
export function ApiStartup(): MethodDecorator {
  return ApiProbe(
    'getStartup',
    'Startup: 200 once the app listens and the broker has answered',
    { status: 'ok', info: BROKER_UP, error: {}, details: BROKER_UP },
    {
      status: 'error',
      info: {},
      error: { broker: { status: 'down', kind: 'redis', message: 'not connected yet' } },
      details: { broker: { status: 'down', kind: 'redis', message: 'not connected yet' } },
    },
  );
}
