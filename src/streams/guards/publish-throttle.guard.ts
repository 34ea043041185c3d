import { Injectable, type ExecutionContext } from '@nestjs/common';
import { ThrottlerException, ThrottlerGuard } from '@nestjs/throttler';
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { bearerToken } from '../../auth/request-credentials.js';

/**
 * Publisher rate limit per credential (PUBLISH_RATE_LIMIT per PUBLISH_RATE_WINDOW_MS):
 * one busy publisher cannot starve the others. The tracker is a hash of the token,
 * so the limiter's storage never holds a secret.
 */
@Injectable()
export class PublishThrottleGuard extends ThrottlerGuard {
  protected override getTracker(req: Record<string, unknown>): Promise<string> {
    const token = bearerToken(req as unknown as IncomingMessage) ?? '';
    return Promise.resolve(createHash('sha256').update(token).digest('base64url').slice(0, 22));
  }

  /** One window per route and credential, as the library's default, without hashing the (already hashed) tracker again. */
  protected override generateKey(context: ExecutionContext, suffix: string, name: string): string {
    return `${context.getHandler().name}\n${name}\n${suffix}`;
  }

  protected override throwThrottlingException(): Promise<void> {
    throw new ThrottlerException('publish rate limit exceeded for this credential; see Retry-After');
  }
}
