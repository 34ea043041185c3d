import { createHmac, timingSafeEqual } from 'node:crypto';

export interface HeraldClaims {
  /** Topics the bearer may subscribe to (`*` matches one segment). */
  topics?: string[];
  /** Topics the bearer may publish to. */
  publish?: string[];
  tenant?: string;
  /** Who the bearer is (a publisher's idempotency keys are scoped to it). */
  sub?: string;
  /** Expiry, seconds since the epoch. */
  exp?: number;
}

export type JwtResult = { claims: HeraldClaims } | { error: string };

function decodeJson(part: string): unknown {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

function stringList(value: unknown): string[] | undefined | null {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) return null;
  return value as string[];
}

/** Verifies an HS256 JWT: signature, then `exp` with no leeway. */
export function verifyJwt(token: string, secret: string, nowMs = Date.now()): JwtResult {
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((part) => !/^[A-Za-z0-9_-]*$/.test(part))) return { error: 'malformed token' };
  let header: unknown;
  let payload: unknown;
  try {
    header = decodeJson(parts[0]);
    payload = decodeJson(parts[1]);
  } catch {
    return { error: 'malformed token' };
  }
  if (typeof header !== 'object' || header === null || (header as { alg?: unknown }).alg !== 'HS256') {
    return { error: 'unsupported algorithm (HS256 only)' };
  }
  const expected = createHmac('sha256', secret).update(`${parts[0]}.${parts[1]}`).digest();
  const given = Buffer.from(parts[2], 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { error: 'invalid signature' };
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return { error: 'malformed claims' };
  const raw = payload as Record<string, unknown>;
  const topics = stringList(raw.topics);
  const publish = stringList(raw.publish);
  if (topics === null || publish === null) return { error: 'topics and publish claims must be lists of strings' };
  if (raw.tenant !== undefined && typeof raw.tenant !== 'string') return { error: 'tenant claim must be a string' };
  if (raw.sub !== undefined && typeof raw.sub !== 'string') return { error: 'sub claim must be a string' };
  if (raw.exp !== undefined && typeof raw.exp !== 'number') return { error: 'exp claim must be a number' };
  const exp = raw.exp as number | undefined;
  if (exp !== undefined && nowMs >= exp * 1000) return { error: 'token expired' };
  return {
    claims: { topics, publish, tenant: raw.tenant as string | undefined, sub: raw.sub as string | undefined, exp },
  };
}

/** Signs an HS256 JWT (tests, tools, and operators minting tokens). */
export function signJwt(claims: Record<string, unknown>, secret: string): string {
  const head = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
  const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const signature = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${signature}`;
}

/** Constant-time comparison of two secrets. */
export function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
