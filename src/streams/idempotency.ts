import { BadRequestException, UnprocessableEntityException } from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HeraldConfig } from '../config/herald-config.js';
import type { IdempotentPublish, PublishRequest } from '../broker/event-broker.js';
import { RetryLaterException } from '../http/retry-later.exception.js';
import { publisherIdentity } from './guards/publisher.guard.js';

/**
 * `Idempotency-Key` on the publish routes (docs/protocol.md "Idempotent publish").
 *
 * A key names one publish per credential. Two things make a repeat harmless:
 * - the broker checks and writes the key's record in the same atomic step as
 *   the publish (`EventBroker.publishOnce`; for Redis inside the publish
 *   script), so two instances given the same key publish once between them;
 * - this process refuses a second request with a key it is still handling
 *   (`409`), from the moment the request's head arrives, before its body is
 *   read: that is the reservation below.
 */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
/** Seconds a `409` asks the client to wait: the first request is being answered now. */
export const IN_FLIGHT_RETRY_AFTER_SECONDS = 1;

const VISIBLE_ASCII = /^[\x21-\x7e]{1,255}$/;
/** The routes of PublishController (Express matches case-insensitively, with an optional trailing slash). */
const PUBLISH_PATH = /^\/v1\/(?:events|topics\/[^/]+\/events)\/?$/i;

const RESERVED = Symbol('herald.idempotency-reserved');
type Reservable = IncomingMessage & { [RESERVED]?: { name: string; conflict: boolean } };

/** The record's name: the credential and its key, hashed (so any visible ASCII is safe in a Redis key). */
export function recordName(identity: string, key: string): string {
  return createHash('sha256').update(identity).update('\n').update(key).digest('base64url');
}

/** Keys this process is handling now (reserved when a request's head arrives, released when it is answered). */
export class InFlightKeys {
  private readonly names = new Set<string>();

  get size(): number {
    return this.names.size;
  }

  /**
   * Express middleware, mounted before the body parser: reserves the key of a
   * publish whose head just arrived. A key already reserved marks the request
   * as a conflict, answered `409` by the route (with the usual error body).
   * One shared release listener per process, no closure per request.
   */
  middleware(config: HeraldConfig): (req: IncomingMessage, res: ServerResponse, next: () => void) => void {
    const names = this.names;
    function release(this: ServerResponse): void {
      const reserved = (this.req as Reservable)[RESERVED];
      if (reserved && !reserved.conflict) names.delete(reserved.name);
    }
    return (req, res, next) => {
      const key = req.headers[IDEMPOTENCY_KEY_HEADER];
      if (req.method !== 'POST' || typeof key !== 'string' || !VISIBLE_ASCII.test(key)) return next();
      const path = (req.url ?? '').split('?', 1)[0];
      if (!PUBLISH_PATH.test(path)) return next();
      const identity = publisherIdentity(req, config);
      if (identity === undefined) return next(); // the guard answers 401
      const name = recordName(identity, key);
      const conflict = names.has(name);
      (req as Reservable)[RESERVED] = { name, conflict };
      if (!conflict) {
        names.add(name);
        res.once('close', release);
      }
      next();
    };
  }
}

/** The request's `Idempotency-Key`, checked: undefined when absent, `400` when malformed, `409` while in flight. */
export function idempotencyKey(req: IncomingMessage, config: HeraldConfig): { name: string } | undefined {
  const key = req.headers[IDEMPOTENCY_KEY_HEADER];
  if (key === undefined) return undefined;
  if (typeof key !== 'string' || !VISIBLE_ASCII.test(key)) {
    throw new BadRequestException(`Idempotency-Key must be 1-255 visible ASCII characters: ${keyProblem(key)}`);
  }
  const reserved = (req as Reservable)[RESERVED];
  if (reserved?.conflict) {
    throw new RetryLaterException(
      409,
      'a request with this Idempotency-Key is still being handled; retry after it is answered',
      IN_FLIGHT_RETRY_AFTER_SECONDS,
    );
  }
  if (reserved) return reserved;
  // Not reserved (a route the middleware did not recognise): still exactly once through the broker.
  const identity = publisherIdentity(req, config);
  return identity === undefined ? undefined : { name: recordName(identity, key) };
}

function keyProblem(key: string | string[]): string {
  if (typeof key !== 'string') return 'it was sent more than once';
  if (key.length === 0) return 'it is empty';
  if (key.length > 255) return `it is ${key.length} characters long`;
  const at = [...key].findIndex((char) => char < '\x21' || char > '\x7e');
  return `character ${at + 1} is not one (a space, a control character or non-ASCII)`;
}

/**
 * What "the same request" means: the route and each event's topic, type and
 * data, with object keys in a fixed order (so `{"a":1,"b":2}` equals
 * `{"b":2,"a":1}`) and defaults applied (`type` absent = `message`).
 */
export function publishFingerprint(route: 'one' | 'batch', requests: readonly PublishRequest[]): string {
  const hash = createHash('sha256').update(route);
  for (const request of requests) {
    hash.update('\n').update(JSON.stringify(request.topic)).update(JSON.stringify(request.type));
    hash.update(canonicalJson(request.data));
  }
  return hash.digest('base64url');
}

/** JSON text with every object's keys sorted. Depth is bounded by the body parser (64 levels). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(object[key])}`).join(',')}}`;
}

export function idempotentPublish(name: string, fingerprint: string, config: HeraldConfig): IdempotentPublish {
  return { key: name, fingerprint, ttlMs: config.idempotencyTtlMs };
}

export function reusedKey(): UnprocessableEntityException {
  return new UnprocessableEntityException(
    'this Idempotency-Key was used for another request (route, topic or body) within IDEMPOTENCY_TTL_MS; ' +
      'use a new key for a new publish',
  );
}
