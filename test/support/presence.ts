import { signJwt } from '../../src/auth/jwt.js';
import { PUBLISH_TOKEN, request, type HttpAnswer } from './herald.js';
import { RawSseClient } from './raw-sse.js';

/** Presence tests: streams with a JWT (`sub`, `tenant`) and the topic info routes. */
export const JWT_SECRET = 'presence-test-secret-0123456789abcdef';

export interface Info {
  topic: string;
  subscribers: number;
  lastEventId: string | null;
  lastEventAt: number | null;
  retained: number;
}
export interface Presence {
  topic: string;
  subscribers: number;
  anonymous: number;
  members: { sub: string; tenant: string | null; connections: number }[];
  cursor: string | null;
}

export const get = <T>(url: string, token = PUBLISH_TOKEN): Promise<HttpAnswer<T>> =>
  request<T>(url, { headers: { authorization: `Bearer ${token}` } });
export const topicUrl = (herald: { url: string }, topic: string, rest = ''): string =>
  `${herald.url}/v1/topics/${encodeURIComponent(topic)}${rest}`;

/** A subscriber stream on raw sockets; `sub`/`tenant` go into its JWT (the app runs with JWT_SECRET). */
export function subscribe(
  herald: { url: string },
  topics: string[],
  options: { sub?: string; tenant?: string; query?: string; lastEventId?: string } = {},
): RawSseClient {
  const claims: Record<string, unknown> = { topics };
  if (options.sub !== undefined) claims.sub = options.sub;
  if (options.tenant !== undefined) claims.tenant = options.tenant;
  const query = topics.map((topic) => `topic=${encodeURIComponent(topic)}`).join('&');
  const headers: Record<string, string> = { authorization: `Bearer ${signJwt(claims, JWT_SECRET)}` };
  if (options.lastEventId !== undefined) headers['last-event-id'] = options.lastEventId;
  return new RawSseClient(`${herald.url}/v1/events?${query}${options.query ?? ''}`, { headers });
}

export async function count(herald: { url: string }, topic: string): Promise<number> {
  const answer = await get<Info>(topicUrl(herald, topic));
  if (answer.status !== 200) throw new Error(`topic info: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body.subscribers;
}
