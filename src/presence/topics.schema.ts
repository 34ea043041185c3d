import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { TOPIC_PREFIX_PATTERN } from '@herald/sse';
import { IsOptional, Matches } from 'class-validator';
import { TOPIC_PROPERTY } from '../streams/dto/properties.js';

const COUNT = { type: 'integer', minimum: 0 } as const;
const LIMIT_PATTERN = /^(?:[1-9][0-9]{0,2}|1000)$/;
const LIMIT_PROPERTY = {
  type: 'integer',
  minimum: 1,
  maximum: 1000,
  default: 100,
  description: 'Most entries in one page.',
  example: 100,
} as const;
/** Cursors are opaque: base64url of where the page ended. */
const CURSOR_PATTERN = /^[A-Za-z0-9_-]{1,1400}$/;
const CURSOR_PROPERTY = {
  type: 'string',
  pattern: CURSOR_PATTERN.source,
  description: 'The `cursor` of the previous page (opaque).',
  example: 'dHJ1Y2tzLzQy',
} as const;

/** `GET /v1/topics/{topic}`, and each entry of `GET /v1/topics`. */
export class TopicInfo {
  @ApiProperty({ ...TOPIC_PROPERTY, example: 'trucks/42' })
  topic!: string;

  @ApiProperty({ ...COUNT, description: 'Open streams on the topic, across every instance.', example: 3 })
  subscribers!: number;

  @ApiProperty({
    type: 'string',
    nullable: true,
    description:
      "Id of the topic's newest retained event (null: none). Subscribe with it as `Last-Event-ID` to go on " +
      'from exactly a snapshot taken now: nothing in between is lost or sent twice.',
    example: 'mwtm6owhb8wp-42',
  })
  lastEventId!: string | null;

  @ApiProperty({
    type: 'integer',
    nullable: true,
    description: 'Publish time of that event, ms since the epoch (null: none).',
    example: 1795459440620,
  })
  lastEventAt!: number | null;

  @ApiProperty({
    ...COUNT,
    description: 'Events of the topic held in history (with Redis, possibly some past HISTORY_TTL_MS not yet trimmed).',
    example: 17,
  })
  retained!: number;
}

export class TopicList {
  @ApiProperty({ type: [TopicInfo], description: 'Topics with a subscriber or a retained event, in code-unit order.' })
  topics!: TopicInfo[];

  @ApiProperty({
    ...CURSOR_PROPERTY,
    nullable: true,
    description: 'Pass as `cursor` for the next page; null: last page.',
  })
  cursor!: string | null;
}

export class PresenceMember {
  @ApiProperty({ description: "The subscriber token's `sub`.", example: 'operator-7' })
  sub!: string;

  @ApiProperty({
    type: 'string',
    nullable: true,
    description: "The token's `tenant`, null without one.",
    example: 'acme',
  })
  tenant!: string | null;

  @ApiProperty({
    ...COUNT,
    description: 'Open streams of this member on the topic, across every instance.',
    example: 2,
  })
  connections!: number;
}

export class TopicPresence {
  @ApiProperty({ ...TOPIC_PROPERTY, example: 'trucks/42' })
  topic!: string;

  @ApiProperty({ ...COUNT, description: 'Open streams on the topic, across every instance.', example: 3 })
  subscribers!: number;

  @ApiProperty({ ...COUNT, description: 'Of those, streams without a `sub` (counted, never listed).', example: 1 })
  anonymous!: number;

  @ApiProperty({ type: [PresenceMember], description: 'Members by `sub` and `tenant`, in a stable order.' })
  members!: PresenceMember[];

  @ApiProperty({ ...CURSOR_PROPERTY, nullable: true, description: 'Pass as `cursor` for more members; null: no more.' })
  cursor!: string | null;
}

export const TOPIC_PREFIX_RULE = 'prefix must be 0-256 characters from A-Z a-z 0-9 _ - . : / ~ @';

export class PageQuery {
  @ApiPropertyOptional(LIMIT_PROPERTY)
  @IsOptional()
  @Matches(LIMIT_PATTERN, { message: 'limit must be a whole number from 1 to 1000' })
  limit?: string;

  @ApiPropertyOptional(CURSOR_PROPERTY)
  @IsOptional()
  @Matches(CURSOR_PATTERN, { message: 'cursor must be the cursor of a previous page' })
  cursor?: string;
}

export class TopicListQuery extends PageQuery {
  @ApiPropertyOptional({
    type: 'string',
    pattern: TOPIC_PREFIX_PATTERN.source,
    description: 'Only topics that start with this.',
    example: 'trucks/',
  })
  @IsOptional()
  @Matches(TOPIC_PREFIX_PATTERN, { message: TOPIC_PREFIX_RULE })
  prefix?: string;
}

export const TOPIC_MODELS = [TopicInfo, TopicList, PresenceMember, TopicPresence];
