/** Herald's control frames (`close`, `reset`, `presence`): their JSON `data`, read defensively. */
import { isValidTopic } from '@herald/sse';
import type { PresenceInfo, ResetInfo } from './types.js';

function parse(data: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(data);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** `event: close`: its reason, `unknown` when there is none. */
export function closeReasonOf(data: string): string {
  const reason = parse(data)?.reason;
  return typeof reason === 'string' ? reason : 'unknown';
}

/** `event: reset`: what history was lost; a frame without details is still a reset. */
export function resetInfoOf(data: string, fallbackId: string | null): ResetInfo {
  const body = parse(data);
  return {
    reason: typeof body?.reason === 'string' ? body.reason : 'history-lost',
    lastEventId: typeof body?.lastEventId === 'string' ? body.lastEventId : fallbackId,
  };
}

/** `event: presence`: `{topic, subscribers}`, or undefined when the frame is not one Herald could send. */
export function presenceInfoOf(data: string): PresenceInfo | undefined {
  const body = parse(data);
  const topic = body?.topic;
  const subscribers = body?.subscribers;
  if (typeof topic !== 'string' || !isValidTopic(topic)) return undefined;
  if (typeof subscribers !== 'number' || !Number.isSafeInteger(subscribers) || subscribers < 0) return undefined;
  return { topic, subscribers };
}
