import { ApiProperty } from '@nestjs/swagger';
import {
  ANY_JSON,
  EVENT_ID_PROPERTY,
  EVENT_TYPE_PROPERTY,
  EXAMPLE_EVENT_ID,
  EXAMPLE_POSITION,
  EXAMPLE_TOPIC,
  PUBLISH_TIME_PROPERTY,
  TOPIC_PROPERTY,
} from './properties.js';

/** One event as the long-poll answers it (`HeraldEvent.toJSON()`). */
export class PolledEvent {
  @ApiProperty({ ...EVENT_ID_PROPERTY, example: EXAMPLE_EVENT_ID })
  id!: string;

  @ApiProperty({ ...TOPIC_PROPERTY, example: EXAMPLE_TOPIC })
  topic!: string;

  @ApiProperty({ ...EVENT_TYPE_PROPERTY, example: 'position' })
  type!: string;

  @ApiProperty({ ...ANY_JSON, example: EXAMPLE_POSITION })
  data!: unknown;

  @ApiProperty(PUBLISH_TIME_PROPERTY)
  ts!: number;
}

/** 200 of `GET /v1/poll`: what `PollWaiter.wait` resolves with. */
export class PollResult {
  @ApiProperty({
    type: [PolledEvent],
    description: 'Events after the cursor, in id order (at most 1,000; poll again at once for more).',
  })
  events!: PolledEvent[];

  @ApiProperty({
    ...EVENT_ID_PROPERTY,
    description: 'The cursor for the next call, also when `events` is empty.',
    example: EXAMPLE_EVENT_ID,
  })
  lastEventId!: string;

  @ApiProperty({
    description:
      'True when the given `lastEventId` is unknown or older than the retained history: `events` is empty and ' +
      '`lastEventId` is the current head. Re-sync your state, then poll on from there.',
    example: false,
  })
  reset!: boolean;
}
