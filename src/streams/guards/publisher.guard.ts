import {
  CanActivate,
  ExecutionContext,
  ForbiddenException,
  Inject,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Request } from 'express';
import { topicAllowed } from '@herald/sse';
import { sameSecret, verifyJwt } from '../../auth/jwt.js';
import { bearerToken, requireBearerToken } from '../../auth/request-credentials.js';
import { HERALD_CONFIG, type HeraldConfig } from '../../config/herald-config.js';

const PUBLISH_SCOPE = Symbol('herald.publish-scope');
type Scoped = Request & { [PUBLISH_SCOPE]?: string[] | 'all' };

/** A valid publisher credential: what it may publish to, and who it is (idempotency keys are scoped to that). */
export interface PublisherCredential {
  scope: string[] | 'all';
  /** `publish-token`, `admin-token`, `sub:<sub>` for a JWT with a `sub`, else `jwt:<hash of the token>`. */
  identity: string;
}

/** Checks a bearer token as a publisher credential (no request state touched). */
export function publisherCredential(
  token: string,
  config: Pick<HeraldConfig, 'publishToken' | 'adminToken' | 'jwtSecret'>,
): PublisherCredential | { error: string } {
  const { publishToken, adminToken, jwtSecret } = config;
  if (publishToken !== undefined && sameSecret(token, publishToken)) return { scope: 'all', identity: 'publish-token' };
  if (sameSecret(token, adminToken)) return { scope: 'all', identity: 'admin-token' };
  if (jwtSecret !== undefined && token.split('.').length === 3) {
    const result = verifyJwt(token, jwtSecret);
    if ('error' in result) return { error: `invalid publisher token: ${result.error}` };
    const { sub, publish } = result.claims;
    const identity = sub !== undefined ? `sub:${sub}` : `jwt:${createHash('sha256').update(token).digest('base64url')}`;
    return { scope: publish ?? [], identity };
  }
  return { error: 'invalid publisher token' };
}

/** The identity of the request's publisher credential, or undefined when it has none that is valid. */
export function publisherIdentity(req: IncomingMessage, config: HeraldConfig): string | undefined {
  const token = bearerToken(req);
  if (token === undefined) return undefined;
  const credential = publisherCredential(token, config);
  return 'identity' in credential ? credential.identity : undefined;
}

/** Whether the request's credential may publish to `topic` (always for PUBLISH_TOKEN/ADMIN_TOKEN). */
export function mayPublish(req: Request, topic: string): boolean {
  const scope = (req as Scoped)[PUBLISH_SCOPE];
  return scope === 'all' || topicAllowed(scope ?? [], topic);
}

/** Throws 403 unless the request's credential may publish to every topic. */
export function assertMayPublish(req: Request, topics: readonly string[]): void {
  const denied = topics.find((topic) => !mayPublish(req, topic));
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
    const token = requireBearerToken(req, 'a publisher token is required (Authorization: Bearer <token>)');
    const credential = publisherCredential(token, this.config);
    if ('error' in credential) throw new UnauthorizedException(credential.error);
    req[PUBLISH_SCOPE] = credential.scope;
    return true;
  }
}
