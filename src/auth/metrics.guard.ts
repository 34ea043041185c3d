import { CanActivate, ExecutionContext, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { HERALD_CONFIG, type HeraldConfig } from '../config/herald-config.js';
import { sameSecret } from './jwt.js';
import { bearerToken } from './request-credentials.js';

/** With METRICS_TOKEN set, `Authorization: Bearer <METRICS_TOKEN>` or 401; without it, open (scrape from inside). */
@Injectable()
export class MetricsGuard implements CanActivate {
  constructor(@Inject(HERALD_CONFIG) private readonly config: HeraldConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const expected = this.config.metricsToken;
    if (expected === undefined) return true;
    const token = bearerToken(context.switchToHttp().getRequest<IncomingMessage>());
    if (token === undefined || !sameSecret(token, expected)) {
      throw new UnauthorizedException('a valid metrics token is required (Authorization: Bearer <METRICS_TOKEN>)');
    }
    return true;
  }
}
