import { applyDecorators, Controller, Get, Logger, Res, ServiceUnavailableException } from '@nestjs/common';
import {
  HealthCheck,
  HealthCheckService,
  type HealthCheckResult,
  type HealthIndicatorFunction,
} from '@nestjs/terminus';
import { ApiExtraModels, ApiOperation, ApiResponse, ApiTags, getSchemaPath } from '@nestjs/swagger';
import type { Response } from 'express';
import { BrokerHealthIndicator } from '../broker/broker.health.js';
import { CapacityHealthIndicator } from '../streams/capacity.health.js';
import { TAGS } from '../openapi/tags.js';
import { HealthCheckView, HealthIndicatorState } from './health.schema.js';
import { ProcessHealthIndicator } from './process.health.js';

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

/** Never cached (Terminus' default); documented below rather than by Terminus' generic schema. */
const PROBE = { noCache: true, swaggerDocumentation: false };

const BROKER_UP = { broker: { status: 'up', kind: 'memory' } };
const CAPACITY_UP = { status: 'up', active: 4213, threshold: 9000, max: 10000, ratio: 0.4213 };
const HEAP_UP = { status: 'up', usedMb: 61, limitMb: 2048 };
const STALLED = {
  status: 'down',
  message: 'event loop blocked for 1312 ms (bound 1000 ms)',
  stallMs: 1312,
  stalledAgoMs: 2400,
};

/**
 * The three Kubernetes probes (API.md, Operations). Every indicator reads
 * state kept up to date elsewhere (no I/O on the request), so a probe answers
 * in well under a millisecond of work even with thousands of open streams.
 * Answering at all means the server is listening.
 */
@Controller('health')
@ApiTags(TAGS.operations)
@ApiExtraModels(HealthCheckView, HealthIndicatorState)
export class HealthController {
  private readonly logger = new Logger('Health');
  private readyBefore: boolean | undefined;

  constructor(
    private readonly health: HealthCheckService,
    private readonly processHealth: ProcessHealthIndicator,
    private readonly broker: BrokerHealthIndicator,
    private readonly capacity: CapacityHealthIndicator,
  ) {}

  /** 200 unless the process is wedged: a restart would help. Never depends on the broker. */
  @Get('live')
  @HealthCheck(PROBE)
  @ApiProbe(
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
  )
  live(@Res({ passthrough: true }) res: Response): Promise<HealthCheckResult> {
    return this.answer(res, [
      () => this.processHealth.isEventLoopResponsive(),
      () => this.processHealth.isHeapBelowLimit(),
    ]);
  }

  /** 200 when this instance should get new streams: not draining, broker reachable, below capacity. */
  @Get('ready')
  @HealthCheck(PROBE)
  @ApiProbe(
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
  )
  async ready(@Res({ passthrough: true }) res: Response): Promise<HealthCheckResult> {
    const result = await this.answer(res, [
      () => this.capacity.isNotDraining(),
      () => this.broker.isReachable(),
      () => this.capacity.isBelowThreshold(),
    ]);
    this.noteReadiness(result);
    return result;
  }

  /** 200 once the broker has answered since start (and the server listens, or it could not answer). */
  @Get('startup')
  @HealthCheck(PROBE)
  @ApiProbe(
    'getStartup',
    'Startup: 200 once the app listens and the broker has answered',
    { status: 'ok', info: BROKER_UP, error: {}, details: BROKER_UP },
    {
      status: 'error',
      info: {},
      error: { broker: { status: 'down', kind: 'redis', message: 'not connected yet' } },
      details: { broker: { status: 'down', kind: 'redis', message: 'not connected yet' } },
    },
  )
  startup(@Res({ passthrough: true }) res: Response): Promise<HealthCheckResult> {
    return this.answer(res, [() => this.broker.hasConnected()]);
  }

  /** Terminus throws a 503 carrying its result; answer that result as the body, not a generic error. */
  private async answer(res: Response, checks: HealthIndicatorFunction[]): Promise<HealthCheckResult> {
    try {
      return await this.health.check(checks);
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      res.status(503);
      return error.getResponse() as HealthCheckResult;
    }
  }

  /** One log line per readiness change (not one per failing probe). */
  private noteReadiness(result: HealthCheckResult): void {
    const ready = result.status === 'ok';
    if (ready === this.readyBefore) return;
    this.readyBefore = ready;
    const failing = Object.keys(result.error ?? {});
    if (ready) this.logger.log({ msg: 'ready' });
    else this.logger.warn({ msg: 'not ready', failing, error: result.error });
  }
}
