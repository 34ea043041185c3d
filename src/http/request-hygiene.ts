import type { NextFunction, Request, Response } from 'express';
import { STATUS_CODES } from 'node:http';

/** Node's query parser keeps the first 1,000 parameters and drops the rest without a word. */
export const MAX_QUERY_PARAMETERS = 1_000;

function refuse(res: Response, status: number, message: string): void {
  res.status(status).json({ statusCode: status, error: STATUS_CODES[status] ?? 'Error', message });
}

function queryParameterCount(url: string): number {
  const start = url.indexOf('?');
  if (start === -1) return 0;
  let count = 1;
  for (let i = url.indexOf('&', start); i !== -1; i = url.indexOf('&', i + 1)) count++;
  return count;
}

/**
 * First middleware: every answer says `nosniff`, and a request Herald would
 * misread is refused here instead (an unknown transfer coding, a query cut short).
 */
export function requestHygiene(req: Request, res: Response, next: NextFunction): void {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  const coding = req.headers['transfer-encoding'];
  if (coding !== undefined && coding.trim().toLowerCase() !== 'chunked') {
    res.setHeader('Connection', 'close');
    return refuse(
      res,
      501,
      `Transfer-Encoding ${JSON.stringify(coding)} is not supported: send chunked or Content-Length`,
    );
  }
  // Fewer than 2,000 characters cannot hold more than 1,000 parameters: the common case costs one comparison.
  if (req.url.length > 2 * MAX_QUERY_PARAMETERS) {
    const count = queryParameterCount(req.url);
    if (count > MAX_QUERY_PARAMETERS) {
      return refuse(res, 400, `too many query parameters: ${count}, at most ${MAX_QUERY_PARAMETERS}`);
    }
  }
  next();
}
