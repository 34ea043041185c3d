import { formatEventId, newEpoch, type EventCursor } from '@herald/sse';
import {
  BrokerUnavailableError,
  type IdempotentPublish,
  type PublishOnceResult,
  type PublishRequest,
  type ReplayResult,
} from './event-broker.js';
import { HeraldEvent } from './herald-event.js';
import { recordedIds } from './idempotency-records.js';
import type { FeedPosition, LiveBatch, MissedChunk, MissedTopic } from './live-feed.js';
import { mergeBySeq } from './merge-by-seq.js';

/** Events the gap log remembers: how far behind a process's live feed can fall and still catch up exactly. */
const GAP_LOG_LENGTH = 100_000;
/** Whole expired topics forgotten per publish (amortized cleanup). */
const SWEEP_LIMIT = 20;
/** Events read per catch-up round, so one round never blocks Redis for long. */
const CATCH_UP_CHUNK = 1_000;

/**
 * How the Redis broker's data looks on the wire: the arguments of its Lua
 * scripts (redis-scripts.ts), their replies, stream entries and live messages,
 * as pure functions. A reply of the wrong shape is `BrokerUnavailableError`.
 */
export interface ScriptSettings {
  prefix: string;
  channel: string;
  historySize: number;
  historyTtlMs: number;
}

export type StreamEntry = [id: string, fields: string[]];

/** What a publish answered; `written` when it published: the head after it and the events Redis holds. */
export interface PublishReply {
  result: PublishOnceResult;
  written?: { epoch: string; lastSeq: number; held: number };
}

/** `undefined` has no JSON, so it travels (and is rebuilt on other instances) as null everywhere. */
function wireData(request: PublishRequest): unknown {
  return request.data === undefined ? null : request.data;
}

export function publishArgs(
  settings: ScriptSettings,
  highestSeq: number,
  requests: readonly PublishRequest[],
  once: IdempotentPublish | undefined,
): string[] {
  const args: string[] = [
    settings.prefix,
    settings.channel,
    newEpoch(),
    String(highestSeq),
    String(settings.historySize),
    String(settings.historyTtlMs),
    String(GAP_LOG_LENGTH),
    String(SWEEP_LIMIT),
    once?.key ?? '',
    once?.fingerprint ?? '',
    String(once?.ttlMs ?? 0),
  ];
  for (const request of requests) args.push(request.topic, request.type, JSON.stringify(wireData(request)));
  return args;
}

export function decodePublish(value: unknown, requests: readonly PublishRequest[]): PublishReply {
  const reply = asArray(value);
  const epoch = asString(reply[0]);
  const first = asNumber(reply[1]);
  if (reply.length > 4) {
    if (asString(reply[4]) === 'mismatch') return { result: { outcome: 'mismatch' } };
    const ids = recordedIds({ epoch, firstSeq: first, count: asNumber(reply[5]) });
    return { result: { outcome: 'replayed', ids } };
  }
  const ts = asNumber(reply[2]);
  const events = requests.map(
    (request, i) =>
      new HeraldEvent(formatEventId(epoch, first + i), first + i, request.topic, request.type, wireData(request), ts),
  );
  const written = { epoch, lastSeq: first + requests.length - 1, held: asNumber(reply[3]) };
  return { result: { outcome: 'published', events }, written };
}

export function replayArgs(
  settings: ScriptSettings,
  highestSeq: number,
  topics: readonly string[],
  cursor: EventCursor | null,
): string[] {
  return [
    settings.prefix,
    newEpoch(),
    String(highestSeq),
    String(settings.historyTtlMs),
    cursor?.epoch ?? '',
    cursor === null ? '' : String(cursor.seq),
    ...topics,
  ];
}

export function decodeReplay(
  value: unknown,
  topics: readonly string[],
  cursor: EventCursor | null,
): { epoch: string; held: number; result: ReplayResult } {
  const reply = asArray(value);
  const epoch = asString(reply[0]);
  const headSeq = asNumber(reply[1]);
  const reset = asNumber(reply[2]) === 1;
  const result: ReplayResult = { events: [], reset, head: formatEventId(epoch, headSeq), headSeq };
  if (!reset && cursor !== null) {
    result.events = mergeBySeq(
      topics.map((topic, i) => asEntries(reply[4 + i]).map((entry) => entryEvent(epoch, topic, entry))),
    );
  }
  return { epoch, held: asNumber(reply[3]), result };
}

export function catchUpArgs(settings: ScriptSettings, from: FeedPosition): string[] {
  return [
    settings.prefix,
    newEpoch(),
    String(from.highestSeq),
    from.epoch === undefined ? '' : String(from.seq),
    String(CATCH_UP_CHUNK),
    from.epoch ?? '',
  ];
}

export function decodeCatchUp(value: unknown): MissedChunk {
  const reply = asArray(value);
  const epoch = asString(reply[0]);
  const topics: MissedTopic[] = [];
  for (let i = 4; i + 1 < reply.length; i += 2) {
    const topic = asString(reply[i]);
    const entries = asEntries(reply[i + 1]);
    topics.push({
      topic,
      previous: entries.length === 0 ? Number.POSITIVE_INFINITY : entryPrevious(entries[0]),
      events: entries.map((entry) => entryEvent(epoch, topic, entry)),
    });
  }
  return {
    epoch,
    headSeq: asNumber(reply[1]),
    logExact: asNumber(reply[2]) === 1,
    upto: asNumber(reply[3]),
    topics,
  };
}

/** A message on the live channel; undefined when Herald did not write it. `held`: events Redis holds. */
export function decodeLive(message: string): { batch: LiveBatch; held: number | undefined } | undefined {
  try {
    const parsed = JSON.parse(message) as { e?: unknown; s?: unknown; ts?: unknown; h?: unknown; v?: unknown };
    const { e: epoch, s: first, ts, h: held, v: items } = parsed;
    if (typeof epoch !== 'string' || !Number.isSafeInteger(first) || typeof ts !== 'number') return undefined;
    if (!Array.isArray(items)) return undefined;
    const start = first as number;
    const events: HeraldEvent[] = [];
    for (const [i, item] of (items as unknown[]).entries()) {
      if (!Array.isArray(item) || typeof item[0] !== 'string' || typeof item[1] !== 'string') return undefined;
      events.push(new HeraldEvent(formatEventId(epoch, start + i), start + i, item[0], item[1], item[2], ts));
    }
    return { batch: { epoch, first: start, events }, held: typeof held === 'number' ? held : undefined };
  } catch {
    return undefined;
  }
}

/** A topic stream's entry as the event it holds. */
export function entryEvent(epoch: string, topic: string, [id, fields]: StreamEntry): HeraldEvent {
  const seq = Number.parseInt(id, 10);
  let type = '';
  let data: unknown = null;
  let ts = 0;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === 'y') type = fields[i + 1];
    else if (fields[i] === 'd') data = JSON.parse(fields[i + 1]);
    else if (fields[i] === 'ts') ts = Number(fields[i + 1]);
  }
  return new HeraldEvent(formatEventId(epoch, seq), seq, topic, type, data, ts);
}

/** The seq of the topic's event before this one (`p`); missing means unknown, which counts as a gap. */
function entryPrevious([, fields]: StreamEntry): number {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === 'p') return Number(fields[i + 1]);
  return Number.POSITIVE_INFINITY;
}

export function asArray(value: unknown): unknown[] {
  if (!Array.isArray(value)) throw new BrokerUnavailableError('unexpected reply from redis');
  return value;
}

function asString(value: unknown): string {
  if (typeof value !== 'string') throw new BrokerUnavailableError('unexpected reply from redis');
  return value;
}

function asNumber(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new BrokerUnavailableError('unexpected reply from redis');
  }
  return value;
}

export function asEntries(value: unknown): StreamEntry[] {
  return asArray(value) as StreamEntry[];
}
