import { CanActivate, ExecutionContext, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { HERALD_CONFIG, type HeraldConfig } from '../config/herald-config.js';
import { sameSecret } from './jwt.js';
import { requireBearerToken } from './request-credentials.js';

/** `Authorization: Bearer <ADMIN_TOKEN>`, or 401. */
@Injectable()
export class AdminGuard implements CanActivate {
  constructor(@Inject(HERALD_CONFIG) private readonly config: HeraldConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<IncomingMessage>();
    const required = 'a valid admin token is required (Authorization: Bearer <ADMIN_TOKEN>)';
    const token = requireBearerToken(req, required);
    if (!sameSecret(token, this.config.adminToken)) throw new UnauthorizedException(required);
    return true;
  }
}
