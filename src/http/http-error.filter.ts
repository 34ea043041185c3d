import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { STATUS_CODES } from 'node:http';
import { BrokerUnavailableError } from '../broker/event-broker.js';

interface StatusError {
  status?: unknown;
  statusCode?: unknown;
  expose?: unknown;
  message?: unknown;
}

/** An error from the HTTP layer (body-parser, http-errors) that carries its own 4xx status. */
function clientErrorStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { status, statusCode } = error as StatusError;
  const value = typeof status === 'number' ? status : statusCode;
  return typeof value === 'number' && value >= 400 && value < 500 ? value : undefined;
}

/**
 * Every error becomes `{statusCode, error, message}`, except on a response that
 * has started (an event stream): there an error ends the response and nothing
 * more is written, so a stream is never corrupted by an error body.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpError');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    if (res.headersSent) {
      if (!(exception instanceof HttpException)) this.logger.error(exception);
      if (!res.writableEnded) res.end();
      return;
    }
    let status = 500;
    let message: unknown = 'internal error';
    if (exception instanceof HttpException) {
      status = exception.getStatus();
      const body = exception.getResponse();
      message = typeof body === 'string' ? body : ((body as { message?: unknown }).message ?? exception.message);
    } else if (exception instanceof BrokerUnavailableError) {
      status = 503;
      message = 'the event broker is unavailable; retry later';
      res.setHeader('Retry-After', '5');
    } else if (clientErrorStatus(exception) !== undefined) {
      status = clientErrorStatus(exception) as number;
      const error = exception as StatusError;
      message = error.expose === false ? STATUS_CODES[status] : String(error.message);
    } else {
      this.logger.error(exception);
    }
    res.status(status).json({ statusCode: status, error: STATUS_CODES[status] ?? 'Error', message });
  }
}
