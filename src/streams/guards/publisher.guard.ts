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
import { sameSecret, verifyJwt } from '../../auth/jwt.js';
import { bearerToken, missingTokenReason } from '../../auth/request-credentials.js';
import { HERALD_CONFIG, type HeraldConfig } from '../../config/herald-config.js';

const PUBLISH_SCOPE = Symbol('herald.publish-scope');
type Scoped = Request & { [PUBLISH_SCOPE]?: string[] | 'all' };

/** The topics the request's credential may publish to ('all' for PUBLISH_TOKEN/ADMIN_TOKEN). */
export function assertMayPublish(req: Request, topics: readonly string[]): void {
  const scope = (req as Scoped)[PUBLISH_SCOPE];
  if (scope === 'all') return;
  const denied = topics.find((topic) => !topicAllowed(scope ?? [], topic));
  if (denied !== undefined) throw new ForbiddenException(`this token may not publish to ${JSON.stringify(denied)}`);
}

/**
 * Publisher credential: `Bearer <PUBLISH_TOKEN>` or `<ADMIN_TOKEN>`, or, when
 * JWT_SECRET is set, a JWT whose `publish` claim lists the allowed topics.
 */
@Injectable()
export class PublisherGuard implements CanActivate {
  constructor(@Inject(HERALD_CONFIG) private readonly config: HeraldConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<Scoped>();
    const token = bearerToken(req);
    if (token === undefined) {
      throw new UnauthorizedException(
        missingTokenReason(req, 'a publisher token is required (Authorization: Bearer <token>)'),
      );
    }
    const { publishToken, adminToken, jwtSecret } = this.config;
    if ((publishToken !== undefined && sameSecret(token, publishToken)) || sameSecret(token, adminToken)) {
      req[PUBLISH_SCOPE] = 'all';
      return true;
    }
    if (jwtSecret !== undefined && token.split('.').length === 3) {
      const result = verifyJwt(token, jwtSecret);
      if ('claims' in result) {
        req[PUBLISH_SCOPE] = result.claims.publish ?? [];
        return true;
      }
      throw new UnauthorizedException(`invalid publisher token: ${result.error}`);
    }
    throw new UnauthorizedException('invalid publisher token');
  }
}
