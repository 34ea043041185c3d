import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsDefined, IsOptional, IsString, Matches } from 'class-validator';
import { EVENT_TYPE_PATTERN, TOPIC_PATTERN } from '@herald/sse';
import { ANY_JSON } from '../streams.schema.js';

const TYPE_RULE = 'type must be 1-64 characters from A-Z a-z 0-9 _ - . :';

/** Body of `POST /v1/topics/{topic}/events`. */
export class PublishEventDto {
  @ApiPropertyOptional({
    type: 'string',
    pattern: EVENT_TYPE_PATTERN.source,
    default: 'message',
    description: 'The event type, the `event:` of the frame: 1–64 characters from `A-Z a-z 0-9 _ - . :`.',
    example: 'position',
  })
  @IsOptional()
  @IsString({ message: TYPE_RULE })
  @Matches(EVENT_TYPE_PATTERN, { message: TYPE_RULE })
  type?: string;

  @ApiProperty({
    ...ANY_JSON,
    description: 'The payload: any JSON value. Its encoded size may not exceed MAX_EVENT_BYTES.',
    example: { lat: 52.52, lon: 13.405 },
  })
  @IsDefined({ message: 'data is required (any JSON value)' })
  data!: unknown;
}

/** One item of `POST /v1/events`. */
export class BatchEventDto extends PublishEventDto {
  @ApiProperty({
    type: 'string',
    pattern: TOPIC_PATTERN.source,
    description: '1–256 characters from `A-Z a-z 0-9 _ - . : / ~ @`.',
    example: 'trucks/42',
  })
  @IsString({ message: 'topic must be a string' })
  @Matches(TOPIC_PATTERN, { message: 'topic must be 1-256 characters from A-Z a-z 0-9 _ - . : / ~ @' })
  topic!: string;
}
