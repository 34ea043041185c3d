import { CanActivate, ExecutionContext, HttpException, HttpStatus, Inject, Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { ServerResponse } from 'node:http';
import { EVENT_BROKER, type EventBroker } from '../../broker/event-broker.js';
import { HERALD_CONFIG, type HeraldConfig } from '../../config/herald-config.js';
import { ConnectionRegistry } from '../connection-registry.js';
import { getSubscribeContext } from '../subscribe-request.js';

const MESSAGES = {
  capacity: [HttpStatus.SERVICE_UNAVAILABLE, 'Herald is at capacity; retry later'],
  draining: [HttpStatus.SERVICE_UNAVAILABLE, 'Herald is shutting down; retry on another instance'],
  'per-ip': [HttpStatus.TOO_MANY_REQUESTS, 'too many connections from this IP address'],
  'per-tenant': [HttpStatus.TOO_MANY_REQUESTS, 'too many connections for this tenant'],
  auth: [HttpStatus.UNAUTHORIZED, 'unauthorized'],
  broker: [HttpStatus.SERVICE_UNAVAILABLE, 'the event broker is unreachable; retry later'],
} as const;

/**
 * Decides admission before any header is sent: a refusal is a plain JSON
 * 503/429 with Retry-After. An admitted request holds its slot until its
 * response closes, whatever happens after this guard.
 */
@Injectable()
export class AdmissionGuard implements CanActivate {
  /** One listener for every response (no closure per stream): the slot goes back when the response closes. */
  private readonly releaseOnClose: (this: ServerResponse) => void;

  constructor(
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    private readonly registry: ConnectionRegistry,
    @Inject(EVENT_BROKER) private readonly broker: EventBroker,
  ) {
    this.releaseOnClose = function (this: ServerResponse): void {
      const admission = getSubscribeContext(this.req).admission;
      if (admission !== undefined) registry.release(admission);
    };
  }

  canActivate(context: ExecutionContext): boolean {
    const http = context.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    const subscribe = getSubscribeContext(req);
    const result =
      this.broker.state?.().connected === false
        ? this.registry.refuse('broker')
        : this.registry.admit(subscribe.ip, subscribe.tenant);
    if ('refused' in result) {
      const [status, message] = MESSAGES[result.refused];
      res.setHeader('Retry-After', String(this.config.retryAfterSeconds));
      throw new HttpException(message, status);
    }
    subscribe.admission = result.admitted;
    res.on('close', this.releaseOnClose);
    // The client may have left while the guards ran; then "close" has fired already.
    if (req.socket.destroyed) this.registry.release(result.admitted);
    return true;
  }
}
