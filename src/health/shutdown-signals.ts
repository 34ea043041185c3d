import type { INestApplication, LoggerService } from '@nestjs/common';
import { constants } from 'node:os';
import { HERALD_CONFIG, type HeraldConfig } from '../config/herald-config.js';
import { Drain } from './drain.js';

/** Time allowed after the drain for closing the app (broker connections, timers) before a forced exit. */
export const CLOSE_GRACE_MS = 1_500;

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * SIGTERM/SIGINT: drain (docs/operations.md, Health probes, drain and deployment), close the app, exit 0. A second
 * signal exits at once with 128 + the signal number, as a shell reports a
 * process killed by it. Replaces Nest's shutdown hooks, which close the app
 * first (no drain) and re-raise the signal (no exit code 0).
 */
export function drainOnSignals(
  app: INestApplication,
  logger: LoggerService,
  exit: (code: number) => void = (code) => process.exit(code),
): () => void {
  const config = app.get<HeraldConfig>(HERALD_CONFIG);
  const drain = app.get(Drain);
  let received: NodeJS.Signals | undefined;

  const onSignal = (signal: NodeJS.Signals): void => {
    if (received !== undefined) {
      logger.warn({ msg: 'second signal: exiting without waiting for the drain', signal }, 'Shutdown');
      exit(128 + constants.signals[signal]);
      return;
    }
    received = signal;
    const forced = setTimeout(() => {
      logger.error({ msg: 'shutdown took too long; exiting', signal }, 'Shutdown');
      exit(1);
    }, config.drainTimeoutMs + CLOSE_GRACE_MS);
    forced.unref();
    drain
      .run(signal)
      .then(() => app.close())
      .then(
        () => {
          logger.log({ msg: 'stopped', signal }, 'Shutdown');
          exit(0);
        },
        (error: unknown) => {
          logger.error({ msg: 'shutdown failed', signal, error: String(error) }, 'Shutdown');
          exit(1);
        },
      );
  };

  for (const signal of SIGNALS) process.on(signal, onSignal);
  return () => {
    for (const signal of SIGNALS) process.off(signal, onSignal);
  };
}
