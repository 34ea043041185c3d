/** A failed delivery attempt; `retryable` false for answers that another attempt cannot change (4xx). */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    /** How long the receiver asked to be left alone (`Retry-After`), when it said. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}
