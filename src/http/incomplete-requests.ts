import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** A connection without a complete first request after this long is slow. */
export const SLOW_AFTER_MS = 2_000;
/** Slow connections one IP may hold; past it, more are closed (408) as they turn slow. */
export const MAX_SLOW_REQUESTS_PER_IP = 16;
/** Every request head must be complete this long after it starts, and its body this long. */
export const HEADERS_TIMEOUT_MS = 10_000;
export const REQUEST_TIMEOUT_MS = 30_000;

const REQUEST_TIMEOUT = Buffer.from(
  'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 86\r\n\r\n' +
    '{"statusCode":408,"error":"Request Timeout","message":"the request was not sent in time"}',
  'latin1',
);

interface Pending {
  ip: string;
  since: number;
  timer: NodeJS.Timeout;
  slow: boolean;
  headDone: boolean;
}

/** A request has a body iff it says so (RFC 9112 §6.3): then it is complete only once that is read. */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * Slowloris bound for the first request of each connection (later requests on
 * a kept-alive connection fall under Node's headersTimeout/requestTimeout):
 * one IP holds at most MAX_SLOW_REQUESTS_PER_IP connections whose request is
 * still incomplete after SLOW_AFTER_MS, and none longer than the timeouts. A
 * burst of fast clients from one address is never refused: only slow ones count.
 */
export function limitIncompleteRequests(server: Server): void {
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  const slowPerIp = new Map<string, number>();
  const pending = new WeakMap<Socket, Pending>();

  const settle = (socket: Socket): void => {
    const entry = pending.get(socket);
    if (!entry) return;
    pending.delete(socket);
    clearTimeout(entry.timer);
    if (!entry.slow) return;
    const count = (slowPerIp.get(entry.ip) ?? 1) - 1;
    if (count > 0) slowPerIp.set(entry.ip, count);
    else slowPerIp.delete(entry.ip);
  };
  const timeOut = (socket: Socket): void => {
    const entry = pending.get(socket);
    settle(socket);
    // Before the head nothing was answered, so a 408 can be written; after it, the response is Node's.
    if (entry && !entry.headDone && socket.writable) socket.end(REQUEST_TIMEOUT);
    socket.destroySoon();
  };
  const schedule = (socket: Socket, entry: Pending): void => {
    clearTimeout(entry.timer);
    const deadline = entry.since + (entry.headDone ? REQUEST_TIMEOUT_MS : HEADERS_TIMEOUT_MS);
    entry.timer = setTimeout(() => timeOut(socket), Math.max(0, deadline - Date.now()));
    entry.timer.unref();
  };

  server.on('connection', (socket: Socket) => {
    const ip = socket.remoteAddress ?? 'unknown';
    const entry: Pending = {
      ip,
      since: Date.now(),
      slow: false,
      headDone: false,
      timer: setTimeout(turnSlow, SLOW_AFTER_MS),
    };
    entry.timer.unref();
    pending.set(socket, entry);
    socket.once('close', () => settle(socket));
    function turnSlow(): void {
      const count = (slowPerIp.get(ip) ?? 0) + 1;
      if (count > MAX_SLOW_REQUESTS_PER_IP) return timeOut(socket);
      entry.slow = true;
      slowPerIp.set(ip, count);
      schedule(socket, entry);
    }
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const entry = pending.get(req.socket);
    if (!entry) return;
    if (!hasBody(req)) return settle(req.socket);
    entry.headDone = true;
    if (entry.slow) schedule(req.socket, entry);
    req.once('end', () => settle(req.socket));
    res.once('finish', () => settle(req.socket));
  });
}
