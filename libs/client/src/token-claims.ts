import { topicAllowed } from '@herald/sse';

/**
 * The `topics` claim of a subscriber JWT, read without verifying it (Herald
 * verifies): lets a shared stream refuse one tab's forbidden topic instead of
 * having Herald answer 403 to the stream every tab depends on. Undefined when
 * the token is not a JWT we can read.
 */
export function tokenTopics(token: string | null): string[] | undefined {
  if (token === null) return undefined;
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const base64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const json = new TextDecoder().decode(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)));
    const claims: unknown = JSON.parse(json);
    if (typeof claims !== 'object' || claims === null) return undefined;
    const topics = (claims as { topics?: unknown }).topics;
    // No `topics` claim allows nothing (docs/protocol.md).
    if (topics === undefined) return [];
    return Array.isArray(topics) ? topics.filter((topic): topic is string => typeof topic === 'string') : [];
  } catch {
    return undefined;
  }
}

/** The topics of `wanted` the claim does not allow. */
export function forbiddenTopics(allowed: readonly string[], wanted: readonly string[]): string[] {
  return wanted.filter((topic) => !topicAllowed(allowed, topic));
}
