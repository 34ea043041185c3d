import type { ApiPropertyOptions } from '@nestjs/swagger';
import {
  EVENT_TYPE_PATTERN,
  EVENT_TYPE_RULE_DOC,
  MAX_EVENT_TYPE_LENGTH,
  MAX_TOPIC_LENGTH,
  TOPIC_PATTERN,
  TOPIC_RULE_DOC,
} from '@herald/sse';

/** The property shapes and examples the Streams wire classes share. */

export const EVENT_ID_PATTERN = '^[a-z0-9]{1,32}-(0|[1-9][0-9]{0,15})$';
export const EXAMPLE_EVENT_ID = 'mwtm6owhb8wp-42';
export const EXAMPLE_STALE_ID = 'mwtk0000zzzz-17';
export const EXAMPLE_TOPIC = 'trucks/42';
export const EXAMPLE_TS = 1795459440620;
export const EXAMPLE_POSITION = { lat: 52.52, lon: 13.405 };

export const TOPIC_PROPERTY = {
  type: 'string',
  pattern: TOPIC_PATTERN.source,
  minLength: 1,
  maxLength: MAX_TOPIC_LENGTH,
  description: `${TOPIC_RULE_DOC}.`,
} as const;

export const EVENT_TYPE_PROPERTY = {
  type: 'string',
  pattern: EVENT_TYPE_PATTERN.source,
  minLength: 1,
  maxLength: MAX_EVENT_TYPE_LENGTH,
  description: `${EVENT_TYPE_RULE_DOC}.`,
} as const;

export const EVENT_ID_PROPERTY = {
  type: 'string',
  pattern: EVENT_ID_PATTERN,
  description: 'Assigned by Herald: `<epoch>-<seq>`, totally ordered within one epoch (one history).',
} as const;

/** Any JSON value, spelled out (a bare property would be documented as an object). */
export const ANY_JSON = {
  description: 'Any JSON value: object, array, string, number, boolean or null.',
  anyOf: [
    { type: 'object', additionalProperties: true },
    { type: 'array', items: {} },
    { type: 'string' },
    { type: 'number' },
    { type: 'boolean' },
    { type: 'null' },
  ],
} satisfies ApiPropertyOptions;

export const PUBLISH_TIME_PROPERTY = {
  type: 'integer',
  description: 'Publish time, ms since the Unix epoch.',
  example: EXAMPLE_TS,
} as const;
