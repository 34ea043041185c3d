import { BadRequestException } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  DEFAULT_EVENT_TYPE,
  EVENT_TYPE_PATTERN,
  EVENT_TYPE_RULE,
  EVENT_TYPE_RULE_DOC,
  isValidTopic,
  TOPIC_PATTERN,
  TOPIC_RULE,
  TOPIC_RULE_DOC,
} from '@herald/sse';
import { ANY_JSON, EVENT_ID_PROPERTY, EXAMPLE_EVENT_ID } from './properties.js';

/** Most events one `POST /v1/events` may carry. */
export const MAX_BATCH = 1_000;

export const TYPE_MESSAGE = `type must be ${EVENT_TYPE_RULE}`;
export const TOPIC_MESSAGE = `topic must be ${TOPIC_RULE}`;

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The envelope fields of one event, checked by hand rather than by the global
 * ValidationPipe: class-transformer copies the object it validates, dropping
 * keys such as `constructor` and recursing without bound, and `data` must be
 * delivered exactly as parsed. Only the top-level keys are read; `data` is never walked or copied.
 */
function readEnvelope(
  body: unknown,
  fields: readonly string[],
  where: string,
  shape: string,
): { type: string; data: unknown; topic?: unknown } {
  if (!isRecord(body)) throw new BadRequestException(`${where} must be a JSON object ${shape}, got ${kindOf(body)}`);
  for (const key of Object.keys(body)) {
    if (!fields.includes(key)) {
      throw new BadRequestException(`${where}: unknown field ${JSON.stringify(key)} (allowed: ${fields.join(', ')})`);
    }
  }
  if (!Object.hasOwn(body, 'data'))
    throw new BadRequestException(`${where}: data is required (any JSON value, null included)`);
  const type = body.type;
  if (type !== undefined && (typeof type !== 'string' || !EVENT_TYPE_PATTERN.test(type))) {
    throw new BadRequestException(`${where}: ${TYPE_MESSAGE}`);
  }
  return { type: type ?? DEFAULT_EVENT_TYPE, data: body.data, topic: body.topic };
}

/** Body of `POST /v1/topics/{topic}/events`. */
export class PublishEventDto {
  @ApiPropertyOptional({
    type: 'string',
    pattern: EVENT_TYPE_PATTERN.source,
    default: 'message',
    description: `The event type, the \`event:\` of the frame: ${EVENT_TYPE_RULE_DOC}.`,
    example: 'position',
  })
  type?: string;

  @ApiProperty({
    ...ANY_JSON,
    description:
      'The payload: any JSON value, `null` included, delivered exactly as sent (the bytes of its JSON text). ' +
      'Its encoded size may not exceed MAX_EVENT_BYTES.',
    example: { lat: 52.52, lon: 13.405 },
  })
  data!: unknown;

  /** The body's `type` (defaulted) and `data` (as parsed), or a 400 naming the field. */
  static read(body: unknown): { type: string; data: unknown } {
    const { type, data } = readEnvelope(body, ['type', 'data'], 'the body', '{"type"?, "data"}');
    return { type, data };
  }
}

/** One item of `POST /v1/events`. */
export class BatchEventDto extends PublishEventDto {
  @ApiProperty({
    type: 'string',
    pattern: TOPIC_PATTERN.source,
    description: `${TOPIC_RULE_DOC}.`,
    example: 'trucks/42',
  })
  topic!: string;

  /** The items of a batch body, each checked like a single event plus its `topic`. */
  static readBatch(body: unknown, maxItems: number): { topic: string; type: string; data: unknown }[] {
    if (!Array.isArray(body)) {
      throw new BadRequestException(
        `the body must be a JSON array of events [{"topic", "type"?, "data"}, …], got ${kindOf(body)}`,
      );
    }
    if (body.length === 0 || body.length > maxItems) {
      throw new BadRequestException(`a batch holds 1 to ${maxItems} events, got ${body.length}`);
    }
    return body.map((item, index) => {
      const where = `event ${index}`;
      const { type, data, topic } = readEnvelope(item, ['topic', 'type', 'data'], where, '{"topic", "type"?, "data"}');
      if (typeof topic !== 'string' || !isValidTopic(topic))
        throw new BadRequestException(`${where}: ${TOPIC_MESSAGE}`);
      return { topic, type, data };
    });
  }
}

/** 202 of `POST /v1/topics/{topic}/events`. */
export class PublishAccepted {
  @ApiProperty({ ...EVENT_ID_PROPERTY, example: EXAMPLE_EVENT_ID })
  id!: string;
}

/** 202 of `POST /v1/events`. */
export class BatchAccepted {
  @ApiProperty({
    type: 'array',
    items: EVENT_ID_PROPERTY,
    description: 'The ids of the events, in the order of the request.',
    example: ['mwtm6owhb8wp-43', 'mwtm6owhb8wp-44'],
  })
  ids!: string[];
}
