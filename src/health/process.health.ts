import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { getHeapStatistics } from 'node:v8';
import { EventLoopSampler } from '../process/event-loop-sampler.js';

/** The bounds beyond which the process counts as wedged (liveness). */
export interface ProcessLimits {
  /** A single event-loop stall longer than this is a wedged process. */
  eventLoopStallMs: number;
  /** How long a stall keeps liveness down after it ended. */
  stallWindowMs: number;
  /** Heap in use above this is past saving: V8 is about to spend all its time in GC. */
  heapUsedBytes: number;
}

export const PROCESS_LIMITS = Symbol('PROCESS_LIMITS');

export const DEFAULT_PROCESS_LIMITS: ProcessLimits = {
  eventLoopStallMs: 1_000,
  stallWindowMs: 10_000,
  // V8's own ceiling (--max-old-space-size, or derived from the container's memory).
  heapUsedBytes: Math.floor(0.95 * getHeapStatistics().heap_size_limit),
};

/**
 * Liveness' view of event-loop lateness, heard from the process' one sampler
 * (`EventLoopSampler`): keeps only the last long stall, so a probe reads it in O(1).
 */
export class EventLoopWatch {
  /** The last stall beyond the limit: its length and when it ended (wall clock). */
  lastStall: { ms: number; at: number } | undefined;
  /** Longest lateness seen since the last `takeMax()`. */
  private maxLagMs = 0;

  constructor(private readonly limitMs: number) {}

  /** Longest lag since the previous call (for the probe's details). */
  takeMax(): number {
    const max = this.maxLagMs;
    this.maxLagMs = 0;
    return max;
  }

  /** One sample: the loop ran `lateMs` late, noticed at `at`; kept in whole milliseconds, as the probe reports them. */
  record(lateMs: number, at: number): void {
    const lag = Math.max(0, Math.round(lateMs));
    if (lag > this.maxLagMs) this.maxLagMs = lag;
    if (lag > this.limitMs) this.lastStall = { ms: lag, at };
  }
}

/**
 * Liveness of the process itself: the event loop is not stalling beyond a
 * bound and the heap is below V8's hard limit. Nothing here touches the
 * network, so liveness never fails because a dependency did (that is
 * readiness' job) and a restart is only asked for when a restart would help.
 */
@Injectable()
export class ProcessHealthIndicator implements OnApplicationBootstrap, OnModuleDestroy {
  readonly limits: ProcessLimits;
  readonly eventLoop: EventLoopWatch;
  private stopListening: (() => void) | undefined;

  constructor(
    private readonly health: HealthIndicatorService,
    private readonly sampler: EventLoopSampler,
    @Inject(PROCESS_LIMITS) limits: ProcessLimits = DEFAULT_PROCESS_LIMITS,
  ) {
    this.limits = limits;
    this.eventLoop = new EventLoopWatch(this.limits.eventLoopStallMs);
  }

  onApplicationBootstrap(): void {
    this.stopListening ??= this.sampler.listen((lateMs, at) => this.eventLoop.record(lateMs, at));
  }

  onModuleDestroy(): void {
    this.stopListening?.();
    this.stopListening = undefined;
  }

  /** Down while a stall longer than the bound happened within the window. */
  isEventLoopResponsive(now = Date.now()): HealthIndicatorResult<'eventLoop'> {
    const session = this.health.check('eventLoop');
    const recentMaxLagMs = this.eventLoop.takeMax();
    const stall = this.eventLoop.lastStall;
    if (stall !== undefined && now - stall.at <= this.limits.stallWindowMs) {
      return session.down({
        message: `event loop blocked for ${stall.ms} ms (bound ${this.limits.eventLoopStallMs} ms)`,
        stallMs: stall.ms,
        stalledAgoMs: now - stall.at,
      });
    }
    return session.up({ recentMaxLagMs, boundMs: this.limits.eventLoopStallMs });
  }

  /** Down when the heap in use is over the hard limit. */
  isHeapBelowLimit(usedBytes = getHeapStatistics().used_heap_size): HealthIndicatorResult<'heap'> {
    const data = { usedMb: megabytes(usedBytes), limitMb: megabytes(this.limits.heapUsedBytes) };
    const session = this.health.check('heap');
    return usedBytes > this.limits.heapUsedBytes ? session.down(data) : session.up(data);
  }
}

function megabytes(bytes: number): number {
  return Math.round(bytes / 104_857.6) / 10;
}
