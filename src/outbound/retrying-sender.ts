import { setTimeout as sleep } from 'node:timers/promises';
import { DeliveryError } from './delivery-error.js';

const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 30_000;
/** A receiver's `Retry-After` is followed up to this; a longer one would hold the delivery hostage. */
const RETRY_AFTER_MAX_MS = 60_000;

/** 500 ms, 1 s, 2 s … (±25 % so retries of many deliveries do not arrive together), at most 30 s. */
export function backoffMs(failedAttempts: number, random = Math.random()): number {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (failedAttempts - 1));
  return Math.round(base * (0.75 + random / 2));
}

/** The pause after a failed attempt: the backoff, or longer when the receiver asked (`Retry-After`, at most 60 s). */
export function pauseMs(failedAttempts: number, error: unknown, random = Math.random()): number {
  const asked = error instanceof DeliveryError ? (error.retryAfterMs ?? 0) : 0;
  return Math.max(backoffMs(failedAttempts, random), Math.min(asked, RETRY_AFTER_MAX_MS));
}

export interface RetryLimits {
  /** Attempts after the first one. */
  retries: number;
  /** One attempt's time limit. */
  timeoutMs: number;
}

/** How one delivery went: `error` is the last attempt's failure. */
export interface SendOutcome {
  delivered: boolean;
  attempts: number;
  error?: unknown;
}

/** Told about each attempt as it goes (for a delivery record others can watch). */
export interface AttemptObserver {
  started?(attempt: number): void;
  failed?(error: unknown): void;
}

/**
 * Sends one delivery: every attempt bounded by `timeoutMs`, failures retried
 * `retries` times with backoff unless a `DeliveryError` says retrying cannot
 * help. `close()` (shutdown) aborts the attempts in flight and every pause.
 */
export class RetryingSender {
  private readonly attempts = new Set<AbortController>();
  private readonly shutdown = new AbortController();

  constructor(private readonly limits: RetryLimits) {}

  async send(attempt: (signal: AbortSignal) => Promise<void>, observer: AttemptObserver = {}): Promise<SendOutcome> {
    for (let attempts = 1; ; attempts++) {
      observer.started?.(attempts);
      try {
        await this.bounded(attempt);
        return { delivered: true, attempts };
      } catch (error) {
        observer.failed?.(error);
        const retryable = !(error instanceof DeliveryError) || error.retryable;
        if (!retryable || attempts > this.limits.retries || this.shutdown.signal.aborted) {
          return { delivered: false, attempts, error };
        }
        await sleep(pauseMs(attempts, error), undefined, { signal: this.shutdown.signal }).catch(() => undefined);
        if (this.shutdown.signal.aborted) return { delivered: false, attempts, error };
      }
    }
  }

  close(): void {
    this.shutdown.abort();
    for (const attempt of this.attempts) attempt.abort();
  }

  /** One try, abandoned (and its signal aborted) when `timeoutMs` is over, even if `attempt` ignores its signal. */
  private async bounded(attempt: (signal: AbortSignal) => Promise<void>): Promise<void> {
    const controller = new AbortController();
    this.attempts.add(controller);
    const { timeoutMs } = this.limits;
    let timer: NodeJS.Timeout | undefined;
    const abandoned = new Promise<never>((_, reject) => {
      const giveUp = (why: string): void => reject(new DeliveryError(why, true));
      timer = setTimeout(() => {
        giveUp(`timed out after ${timeoutMs} ms`);
        controller.abort();
      }, timeoutMs);
      controller.signal.addEventListener('abort', () => giveUp('Herald is shutting down'), { once: true });
    });
    try {
      await Promise.race([attempt(controller.signal), abandoned]);
    } finally {
      clearTimeout(timer);
      this.attempts.delete(controller);
    }
  }
}
