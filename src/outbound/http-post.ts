import { DeliveryError } from './delivery-error.js';

/** Timeouts, rate limits and server errors may pass; any other non-2xx answer will not. */
function retryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** `Retry-After` in whole seconds, as ms (the HTTP-date form is not followed: the backoff applies). */
function retryAfterMs(response: Response): number | undefined {
  const value = response.headers.get('retry-after')?.trim();
  return value !== undefined && /^[0-9]{1,6}$/.test(value) ? Number(value) * 1000 : undefined;
}

/** Why a request never got an answer, without the URL (a Slack URL path is a secret). */
function transportFailure(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return error instanceof Error ? error.message : String(error);
}

/** POSTs a JSON body; resolves on 2xx, throws a `DeliveryError` otherwise. Redirects are not followed. */
export async function postJson(
  url: string,
  body: string,
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'user-agent': 'Herald/1', ...headers },
      redirect: 'manual',
      signal,
    });
  } catch (error) {
    throw new DeliveryError(transportFailure(error), true);
  }
  // The answer's body is not needed; reading it to the end frees the connection for reuse.
  await response.arrayBuffer().catch(() => undefined);
  if (response.status < 200 || response.status > 299) {
    throw new DeliveryError(`HTTP ${response.status}`, retryableStatus(response.status), retryAfterMs(response));
  }
}
