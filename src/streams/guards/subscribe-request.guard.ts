import {
  BadRequestException,
  CanActivate,
  ExecutionContext,
  Inject,
  Injectable,
  NotAcceptableException,
  SetMetadata,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { clientIp } from '../../auth/request-credentials.js';
import { HERALD_CONFIG, type HeraldConfig } from '../../config/herald-config.js';
import { acceptsEventStream, parseSubscribeRequest, setSubscribeContext } from '../subscribe-request.js';

const LONG_POLL = 'herald:long-poll';
/** Marks the long-poll route: `timeout` is read, `Accept` is not checked. */
export const LongPoll = (): MethodDecorator => SetMetadata(LONG_POLL, true);

/** First guard of subscribe and poll: input is valid (400/406) before auth or limits are touched. */
@Injectable()
export class SubscribeRequestGuard implements CanActivate {
  constructor(
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    private readonly reflector: Reflector,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<Request>();
    const poll = this.reflector.get<boolean>(LONG_POLL, context.getHandler()) === true;
    if (!poll && !acceptsEventStream(req.headers.accept)) {
      throw new NotAcceptableException('this endpoint produces text/event-stream');
    }
    const params = parseSubscribeRequest(req, req.query as Record<string, unknown>, poll);
    if (params.presence && !this.config.presence) throw new BadRequestException('presence is off (PRESENCE=off)');
    setSubscribeContext(req, { params, ip: clientIp(req, this.config.trustProxy) });
    return true;
  }
}
