import { Controller, Get, Logger, Res, ServiceUnavailableException } from '@nestjs/common';
import {
  HealthCheck,
  HealthCheckService,
  type HealthCheckResult,
  type HealthIndicatorFunction,
} from '@nestjs/terminus';
import { ApiExtraModels, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { BrokerHealthIndicator } from '../broker/broker.health.js';
import { CapacityHealthIndicator } from '../streams/capacity.health.js';
import { TAGS } from '../openapi/tags.js';
import { ApiLiveness, ApiReadiness, ApiStartup, HealthCheckView, HealthIndicatorState } from './health.openapi.js';
import { ProcessHealthIndicator } from './process.health.js';

/** Never cached (Terminus' default); documented below rather than by Terminus' generic schema. */
const PROBE = { noCache: true, swaggerDocumentation: false };

/**
 * The three Kubernetes probes (docs/operations.md, Health probes, drain and deployment). Every indicator reads
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
  @ApiLiveness()
  live(@Res({ passthrough: true }) res: Response): Promise<HealthCheckResult> {
    return this.answer(res, [
      () => this.processHealth.isEventLoopResponsive(),
      () => this.processHealth.isHeapBelowLimit(),
    ]);
  }

  /** 200 when this instance should get new streams: not draining, broker reachable, below capacity. */
  @Get('ready')
  @HealthCheck(PROBE)
  @ApiReadiness()
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
  @ApiStartup()
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
