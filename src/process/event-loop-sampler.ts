import type { OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { performance } from 'node:perf_hooks';

/** Hears how late each firing of the sampler ran (ms), and when (wall clock). */
export type LatenessListener = (lateMs: number, at: number) => void;

/** How often the sampler's timer is due: the resolution of every lag figure. */
export const SAMPLE_PERIOD_MS = 20;

/**
 * The process' one event-loop sampler: a timer due every `periodMs` measures
 * (on the monotonic clock) how late each firing ran, which is how long the loop
 * was blocked; its own period is not counted as lag. `/status` percentiles
 * (Monitoring's `EventLoopMonitor`) and liveness (Health's `EventLoopWatch`)
 * listen to it; neither runs a timer of its own.
 * Built by its module's factory (its constructor takes a period and a clock), not by DI.
 */
export class EventLoopSampler implements OnModuleInit, OnModuleDestroy {
  private readonly listeners = new Set<LatenessListener>();
  private last = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly periodMs = SAMPLE_PERIOD_MS,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /** Adds a listener; returns how to remove it. */
  listen(listener: LatenessListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onModuleInit(): void {
    if (this.timer !== undefined) return;
    this.last = this.clock();
    this.timer = setInterval(() => this.tick(this.clock()), this.periodMs);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One firing at `now` (by the sampler's clock), noticed at `at` (wall clock); exposed for tests. */
  tick(now: number, at = Date.now()): void {
    const lateMs = now - this.last - this.periodMs;
    this.last = now;
    for (const listener of this.listeners) listener(lateMs, at);
  }
}
