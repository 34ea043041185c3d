import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { STATUS_CODES } from 'node:http';
import { RetryLaterException } from './retry-later.exception.js';
import { ServiceUnavailableError } from './unavailable.error.js';

interface StatusError {
  status?: unknown;
  statusCode?: unknown;
  expose?: unknown;
  message?: unknown;
  type?: unknown;
}

/** One shape for `message`: validation pipes give a list, the body carries one string naming each field. */
function oneMessage(message: unknown): string {
  return Array.isArray(message) ? message.map(String).join('; ') : String(message);
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

  /** RETRY_AFTER_SECONDS (config): what a client waits before trying again when a dependency is unavailable. */
  constructor(private readonly retryAfterSeconds: number) {}

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
      if (exception instanceof RetryLaterException) res.setHeader('Retry-After', String(exception.retryAfterSeconds));
      const body = exception.getResponse();
      message = typeof body === 'string' ? body : ((body as { message?: unknown }).message ?? exception.message);
      // Nest maps body-parser's SyntaxError to a 400 that keeps it as the cause.
      if ((exception.cause as StatusError | undefined)?.type === 'entity.parse.failed') {
        message = `the body is not valid JSON: ${String(message)}`;
      }
    } else if (exception instanceof ServiceUnavailableError) {
      status = 503;
      message = exception.reply;
      res.setHeader('Retry-After', String(this.retryAfterSeconds));
    } else if (clientErrorStatus(exception) !== undefined) {
      status = clientErrorStatus(exception) as number;
      const error = exception as StatusError;
      message = error.expose === false ? STATUS_CODES[status] : String(error.message);
    } else {
      this.logger.error(exception);
    }
    res
      .status(status)
      .json({ statusCode: status, error: STATUS_CODES[status] ?? 'Error', message: oneMessage(message) });
  }
}
