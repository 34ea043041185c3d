import { ApiProperty, ApiPropertyOptional, ApiSchema, getSchemaPath, PickType } from '@nestjs/swagger';
import { jsonText } from '../../openapi/json-text.js';
import { CLOSE_REASONS } from '../stream-counters.js';
import { PolledEvent } from './poll-result.dto.js';
import {
  EVENT_ID_PROPERTY,
  EVENT_TYPE_PROPERTY,
  EXAMPLE_EVENT_ID,
  EXAMPLE_POSITION,
  EXAMPLE_STALE_ID,
  EXAMPLE_TOPIC,
  EXAMPLE_TS,
} from './properties.js';

/*
 * The frames of `text/event-stream` as an SSE parser dispatches them (`data:`
 * lines joined with LF), listed under the response's `x-itemSchema` (what
 * OpenAPI 3.2 calls `itemSchema`). Besides frames, a stream carries a
 * `retry: <ms>` line first and `: hb` comments while idle.
 */

/** The `data` of a message frame in `format=envelope` (`HeraldEvent.envelope()`): a polled event without its id. */
@ApiSchema({ description: 'The `data:` of an event frame when the stream was opened with `format=envelope`.' })
export class StreamEnvelope extends PickType(PolledEvent, ['topic', 'type', 'data', 'ts'] as const) {}

@ApiSchema({ description: 'The `data:` of an `event: reset` frame: the resume point is lost, re-sync your state.' })
export class StreamReset {
  @ApiProperty({ enum: ['history-lost'], example: 'history-lost' })
  reason!: 'history-lost';

  @ApiProperty({
    type: 'string',
    nullable: true,
    description: 'The `Last-Event-ID` the client sent (null when it sent none).',
    example: EXAMPLE_STALE_ID,
  })
  lastEventId!: string | null;
}

@ApiSchema({ description: 'The `data:` of an `event: close` frame, the last frame of a stream Herald ends itself.' })
export class StreamClose {
  @ApiProperty({
    enum: CLOSE_REASONS.filter((reason) => reason !== 'client'),
    description:
      '`draining` (shutdown), `max-age` (older than MAX_CONNECTION_AGE_MS), `slow-consumer` (more than ' +
      'MAX_QUEUE_BYTES unsent), `kicked` (admin), `token-expired` (the JWT expired). Reconnect with ' +
      '`Last-Event-ID` and nothing is lost.',
    example: 'kicked',
  })
  reason!: string;
}

@ApiSchema({ description: 'A published event on a `format=raw` stream.' })
export class SseEventFrame {
  @ApiProperty({ ...EVENT_ID_PROPERTY, example: EXAMPLE_EVENT_ID })
  id!: string;

  @ApiProperty({
    ...EVENT_TYPE_PROPERTY,
    description: 'The event type; the `event:` line is omitted for `message`.',
    example: 'position',
  })
  event!: string;

  @ApiProperty({
    type: 'string',
    description: 'A string payload as it is, any other JSON value as its JSON text.',
    example: JSON.stringify(EXAMPLE_POSITION),
  })
  data!: string;
}

const EXAMPLE_ENVELOPE = { topic: EXAMPLE_TOPIC, type: 'position', data: EXAMPLE_POSITION, ts: EXAMPLE_TS };
const EXAMPLE_RESET = { reason: 'history-lost', lastEventId: EXAMPLE_STALE_ID };

@ApiSchema({ description: 'A published event on a `format=envelope` stream.' })
export class SseEnvelopeFrame {
  @ApiProperty({ ...EVENT_ID_PROPERTY, example: EXAMPLE_EVENT_ID })
  id!: string;

  @ApiProperty({ ...EVENT_TYPE_PROPERTY, example: 'position' })
  event!: string;

  @ApiProperty(jsonText(StreamEnvelope, EXAMPLE_ENVELOPE))
  data!: string;
}

@ApiSchema({ description: 'Sent right after `retry:` when `Last-Event-ID` is unknown or older than the history.' })
export class SseResetFrame {
  @ApiPropertyOptional({
    ...EVENT_ID_PROPERTY,
    description: 'The current head: a reconnect resumes from here.',
    example: EXAMPLE_EVENT_ID,
  })
  id?: string;

  @ApiProperty({ enum: ['reset'] })
  event!: 'reset';

  @ApiProperty(jsonText(StreamReset, EXAMPLE_RESET))
  data!: string;
}

@ApiSchema({ description: 'The last frame of a stream Herald ends itself.' })
export class SseCloseFrame {
  @ApiProperty({ enum: ['close'] })
  event!: 'close';

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    description: 'A `retry:` for this reconnect, ms (spreads the reconnects of a drain).',
    example: 4200,
  })
  retry?: number;

  @ApiProperty(jsonText(StreamClose, { reason: 'draining' }))
  data!: string;
}

/** The models every stream response refers to. */
export const STREAM_MODELS = [
  StreamEnvelope,
  StreamReset,
  StreamClose,
  SseEventFrame,
  SseEnvelopeFrame,
  SseResetFrame,
  SseCloseFrame,
];

/** One frame of the stream: a published event, `reset` or `close` (anyOf: raw and envelope events look alike). */
export const STREAM_FRAME_SCHEMA = {
  anyOf: [SseEventFrame, SseEnvelopeFrame, SseResetFrame, SseCloseFrame].map((model) => ({
    $ref: getSchemaPath(model),
  })),
};

/** Example streams, byte for byte as Herald writes them. */
export const STREAM_EXAMPLES = {
  live: {
    summary: 'Live events (format=raw)',
    value:
      'retry: 3000\n\n' +
      `id: ${EXAMPLE_EVENT_ID}\nevent: position\ndata: ${JSON.stringify(EXAMPLE_POSITION)}\n\n` +
      'id: mwtm6owhb8wp-43\ndata: door open\n\n' +
      ': hb\n\n',
  },
  envelope: {
    summary: 'format=envelope',
    value:
      'retry: 3000\n\n' + `id: ${EXAMPLE_EVENT_ID}\nevent: position\ndata: ${JSON.stringify(EXAMPLE_ENVELOPE)}\n\n`,
  },
  reset: {
    summary: 'Last-Event-ID no longer in history',
    value: 'retry: 3000\n\n' + `id: ${EXAMPLE_EVENT_ID}\nevent: reset\ndata: ${JSON.stringify(EXAMPLE_RESET)}\n\n`,
  },
  close: {
    summary: 'Herald ends the stream (here: kicked by an admin)',
    value: 'id: mwtm6owhb8wp-43\ndata: door open\n\nevent: close\ndata: {"reason":"kicked"}\n\n',
  },
};
