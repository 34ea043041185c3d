import type { Connection } from './dto/connection.dto.js';
import type { Subscription } from './subscription.js';

/** The wire shape of one stream is its documented class; the old name stays for callers outside src/. */
export type ConnectionView = Connection;

/** One open stream as the admin API lists it. */
export function connectionView(s: Subscription): Connection {
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
