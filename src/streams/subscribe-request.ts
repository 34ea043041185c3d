import { BadRequestException } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import {
  invalidTopicMessage,
  isValidTopic,
  MAX_TOPICS_PER_SUBSCRIPTION,
  parseEventId,
  tooManyTopicsMessage,
  type EventCursor,
} from '@herald/sse';
import type { StreamFormat } from '../broker/herald-event.js';
import type { Admission } from './admission-ledger.js';

export interface SubscribeParams {
  topics: string[];
  format: StreamFormat;
  /** Parsed resume point; null when none was given or it is not one of ours (→ reset). */
  cursor: EventCursor | null;
  /** The id as sent, when one was sent. */
  lastEventId: string | undefined;
  /** `since=latest`: each topic's newest retained event first (when not resuming, and after a `reset`). */
  latest: boolean;
  /** `conflate=1` (streams only): behind, keep the newest pending event per topic instead of every one. */
  conflate: boolean;
  /** `presence=1` (streams only): `event: presence` frames when a subscribed topic's count changes. */
  presence: boolean;
  /** Long-poll only: seconds to wait. */
  timeoutSeconds: number;
}

/** What the guards learn about a subscribe or poll request, for the handler. */
export interface SubscribeContext {
  params: SubscribeParams;
  ip: string;
  tenant?: string;
  /** The subscriber token's `sub`: who the stream is in presence (none: anonymous). */
  sub?: string;
  tokenExpiresAt?: number;
  admission?: Admission;
}

const CONTEXT = Symbol('herald.subscribe');
type WithContext = IncomingMessage & { [CONTEXT]?: SubscribeContext };

export function setSubscribeContext(req: IncomingMessage, context: SubscribeContext): void {
  (req as WithContext)[CONTEXT] = context;
}

export function getSubscribeContext(req: IncomingMessage): SubscribeContext {
  const context = (req as WithContext)[CONTEXT];
  if (!context) throw new Error('subscribe context missing: SubscribeRequestGuard must run first');
  return context;
}

type Query = Record<string, unknown>;

function single(query: Query, name: string): string | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new BadRequestException(`query parameter "${name}" must be given once`);
  return value;
}

function readTopics(query: Query): string[] {
  const raw = query.topic;
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  if (list.length === 0) throw new BadRequestException('at least one "topic" query parameter is required');
  if (list.length > MAX_TOPICS_PER_SUBSCRIPTION) {
    throw new BadRequestException(tooManyTopicsMessage(list.length));
  }
  for (const topic of list) {
    if (!isValidTopic(topic)) {
      throw new BadRequestException(invalidTopicMessage(topic));
    }
  }
  return [...new Set(list as string[])];
}

/**
 * Validates `/v1/events` and `/v1/poll` input. `Last-Event-ID` (header) wins
 * over `lastEventId` (query). An id that is not one of ours is not an error:
 * it resumes as "history lost" (`reset`).
 */
export function parseSubscribeRequest(req: IncomingMessage, query: Query, poll: boolean): SubscribeParams {
  const topics = readTopics(query);
  const format = single(query, 'format') ?? 'raw';
  if (format !== 'raw' && format !== 'envelope') {
    throw new BadRequestException(`invalid format ${JSON.stringify(format)}: raw or envelope`);
  }
  const header = req.headers['last-event-id'];
  const lastEventId =
    (typeof header === 'string' && header !== '' ? header : undefined) ?? single(query, 'lastEventId');
  const since = single(query, 'since');
  if (since !== undefined && since !== 'latest') {
    throw new BadRequestException(`invalid since ${JSON.stringify(since)}: only "latest"`);
  }
  const conflateParam = poll ? undefined : single(query, 'conflate');
  if (conflateParam !== undefined && conflateParam !== '0' && conflateParam !== '1') {
    throw new BadRequestException(`invalid conflate ${JSON.stringify(conflateParam)}: 0 or 1`);
  }
  const presenceParam = poll ? undefined : single(query, 'presence');
  if (presenceParam !== undefined && presenceParam !== '0' && presenceParam !== '1') {
    throw new BadRequestException(`invalid presence ${JSON.stringify(presenceParam)}: 0 or 1`);
  }
  let timeoutSeconds = 25;
  if (poll) {
    const timeout = single(query, 'timeout');
    if (timeout !== undefined) {
      if (!/^[0-9]{1,2}$/.test(timeout) || Number(timeout) < 1 || Number(timeout) > 60) {
        throw new BadRequestException(`invalid timeout ${JSON.stringify(timeout)}: whole seconds from 1 to 60`);
      }
      timeoutSeconds = Number(timeout);
    }
  }
  const cursor = lastEventId === undefined ? null : (parseEventId(lastEventId) ?? { epoch: '', seq: -1 });
  return {
    topics,
    format,
    cursor,
    lastEventId,
    latest: since === 'latest',
    conflate: conflateParam === '1',
    presence: presenceParam === '1',
    timeoutSeconds,
  };
}

/** Whether an `Accept` header (if any) allows an event stream. */
export function acceptsEventStream(accept: string | undefined): boolean {
  if (accept === undefined || accept.trim() === '') return true;
  return accept.split(',').some((part) => {
    const [type, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (q !== undefined && Number(q.slice(2)) === 0) return false;
    return type === 'text/event-stream' || type === 'text/*' || type === '*/*';
  });
}
