import {
  CanActivate,
  ExecutionContext,
  ForbiddenException,
  Inject,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import type { Request } from 'express';
import { topicAllowed } from '@herald/sse';
import { verifyJwt } from '../../auth/jwt.js';
import { bearerToken, cookieValue, missingTokenReason } from '../../auth/request-credentials.js';
import { HERALD_CONFIG, type HeraldConfig } from '../../config/herald-config.js';
import { ConnectionRegistry } from '../connection-registry.js';
import { getSubscribeContext } from '../subscribe-request.js';

/**
 * Subscriber auth when JWT_SECRET is set: an HS256 token from the
 * Authorization header, the `access_token` query or the `herald_token` cookie
 * (EventSource cannot set headers). Its `topics` claim must allow every topic.
 */
@Injectable()
export class SubscriberAuthGuard implements CanActivate {
  constructor(
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    private readonly registry: ConnectionRegistry,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const secret = this.config.jwtSecret;
    if (secret === undefined) return true;
    const req = context.switchToHttp().getRequest<Request>();
    const query = req.query as Record<string, unknown>;
    const token =
      bearerToken(req) ??
      (typeof query.access_token === 'string' ? query.access_token : undefined) ??
      cookieValue(req, 'herald_token');
    if (token === undefined) {
      this.registry.refuse('auth');
      throw new UnauthorizedException(
        missingTokenReason(req, 'a subscriber token is required (Bearer, access_token or herald_token cookie)'),
      );
    }
    const result = verifyJwt(token, secret);
    if ('error' in result) {
      this.registry.refuse('auth');
      throw new UnauthorizedException(`invalid subscriber token: ${result.error}`);
    }
    const subscribe = getSubscribeContext(req);
    const allowed = result.claims.topics ?? [];
    const denied = subscribe.params.topics.find((topic) => !topicAllowed(allowed, topic));
    if (denied !== undefined) {
      this.registry.refuse('auth');
      throw new ForbiddenException(`topic ${JSON.stringify(denied)} is not allowed by this token`);
    }
    subscribe.tenant = result.claims.tenant;
    subscribe.sub = result.claims.sub;
    subscribe.tokenExpiresAt = result.claims.exp !== undefined ? result.claims.exp * 1000 : undefined;
    return true;
  }
}
