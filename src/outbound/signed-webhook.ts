import { createHmac } from 'node:crypto';

/** `sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`, so a receiver can check the body and its age. */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return 'sha256=' + createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/**
 * The headers of one webhook attempt (docs/operations.md, Alerts): `x-herald-timestamp`
 * (unix ms), `x-herald-delivery`, and `x-herald-signature` when there is a secret.
 */
export function webhookHeaders(body: string, deliveryId: string, secret: string | undefined): Record<string, string> {
  // A fresh timestamp per attempt: a retry is not a replay, and receivers may bound the age.
  const timestamp = String(Date.now());
  const headers: Record<string, string> = { 'x-herald-timestamp': timestamp, 'x-herald-delivery': deliveryId };
  if (secret !== undefined) headers['x-herald-signature'] = webhookSignature(secret, timestamp, body);
  return headers;
}
