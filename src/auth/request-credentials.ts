import { UnauthorizedException } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';

/** The token of an `Authorization: Bearer …` header, if any. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : undefined;
}

/** Why a request carries no bearer token, for the 401 (a token sent without its scheme is a common slip). */
export function missingTokenReason(req: IncomingMessage, required: string): string {
  const header = req.headers.authorization;
  if (typeof header === 'string' && header.trim() !== '' && !/^Bearer\s/i.test(header)) {
    return `the Authorization header lacks the "Bearer " scheme: send Authorization: Bearer <token>`;
  }
  return required;
}

/** The bearer token, or 401 saying why there is none (`required` unless the scheme was left out). */
export function requireBearerToken(req: IncomingMessage, required: string): string {
  const token = bearerToken(req);
  if (token === undefined) throw new UnauthorizedException(missingTokenReason(req, required));
  return token;
}

/** One cookie's value from the `Cookie` header. */
export function cookieValue(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (typeof header !== 'string') return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** The client's address; with `trustProxy`, the first `X-Forwarded-For` entry. */
export function clientIp(req: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = req.headers['x-forwarded-for'];
    const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
    if (first) return normalizeIp(first);
  }
  return normalizeIp(req.socket.remoteAddress ?? 'unknown');
}

function normalizeIp(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}
