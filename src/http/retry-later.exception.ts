import { HttpException } from '@nestjs/common';

/** A 429/503 refusal that tells the client when to come back (the filter writes `Retry-After`). */
export class RetryLaterException extends HttpException {
  constructor(
    status: number,
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message, status);
  }
}
