import type { Subscription } from './subscription.js';

/** One open stream as the admin API lists it. */
export interface ConnectionView {
  id: string;
  ip: string;
  tenant: string | null;
  topics: readonly string[];
  startedAt: string;
  messages: number;
  bytes: number;
  unsentBytes: number;
}

export function connectionView(s: Subscription): ConnectionView {
  return {
    id: s.id,
    ip: s.ip,
    tenant: s.tenant ?? null,
    topics: s.topics,
    startedAt: new Date(s.startedAt).toISOString(),
    messages: s.messages,
    bytes: s.bytes,
    unsentBytes: s.unsentBytes,
  };
}
