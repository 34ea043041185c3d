const TOPIC_CHARACTERS = 'A-Z a-z 0-9 _ - . : / ~ @';
const EVENT_TYPE_CHARACTERS = 'A-Z a-z 0-9 _ - . :';
export const MAX_TOPIC_LENGTH = 256;
export const MAX_EVENT_TYPE_LENGTH = 64;

/** Topic: 1–256 characters from `A-Z a-z 0-9 _ - . : / ~ @` (docs/protocol.md, Identifiers). */
export const TOPIC_PATTERN = /^[A-Za-z0-9_\-.:/~@]{1,256}$/;
/** A topic prefix, a filter on topic names: 0–256 topic characters (empty: every topic). */
export const TOPIC_PREFIX_PATTERN = /^[A-Za-z0-9_\-.:/~@]{0,256}$/;
/** Event type: 1–64 characters from `A-Z a-z 0-9 _ - . :`. */
export const EVENT_TYPE_PATTERN = /^[A-Za-z0-9_\-.:]{1,64}$/;
export const DEFAULT_EVENT_TYPE = 'message';
export const MAX_TOPICS_PER_SUBSCRIPTION = 64;

/** The rules as 400 messages state them (plain text) and as the docs do (Markdown). */
export const TOPIC_RULE = `1-${MAX_TOPIC_LENGTH} characters from ${TOPIC_CHARACTERS}`;
export const TOPIC_RULE_DOC = `1–${MAX_TOPIC_LENGTH} characters from \`${TOPIC_CHARACTERS}\``;
export const EVENT_TYPE_RULE = `1-${MAX_EVENT_TYPE_LENGTH} characters from ${EVENT_TYPE_CHARACTERS}`;
export const EVENT_TYPE_RULE_DOC = `1–${MAX_EVENT_TYPE_LENGTH} characters from \`${EVENT_TYPE_CHARACTERS}\``;

/** The 400 message for a value that is not a topic. */
export function invalidTopicMessage(topic: unknown): string {
  return `invalid topic ${JSON.stringify(topic)}: ${TOPIC_RULE}`;
}

/** The 400 message for more topics than one subscription may name. */
export function tooManyTopicsMessage(count: number): string {
  return `too many topics: ${count} given, at most ${MAX_TOPICS_PER_SUBSCRIPTION}`;
}

export function isValidTopic(value: unknown): value is string {
  return typeof value === 'string' && TOPIC_PATTERN.test(value);
}

export function isValidEventType(value: unknown): value is string {
  return typeof value === 'string' && EVENT_TYPE_PATTERN.test(value);
}

/**
 * Whether `topic` is allowed by `pattern`: segments split on `/`; a `*`
 * segment matches exactly one non-empty segment; everything else is literal.
 */
export function topicMatches(pattern: string, topic: string): boolean {
  if (pattern === topic) return true;
  if (!pattern.includes('*')) return false;
  const want = pattern.split('/');
  const have = topic.split('/');
  if (want.length !== have.length) return false;
  for (let i = 0; i < want.length; i++) {
    if (want[i] === '*') {
      if (have[i] === '') return false;
    } else if (want[i] !== have[i]) {
      return false;
    }
  }
  return true;
}

export function topicAllowed(patterns: readonly string[], topic: string): boolean {
  return patterns.some((pattern) => topicMatches(pattern, topic));
}
