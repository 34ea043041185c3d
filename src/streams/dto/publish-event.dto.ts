import { IsDefined, IsOptional, IsString, Matches } from 'class-validator';
import { EVENT_TYPE_PATTERN, TOPIC_PATTERN } from '@herald/sse';

const TYPE_RULE = 'type must be 1-64 characters from A-Z a-z 0-9 _ - . :';

/** Body of `POST /v1/topics/{topic}/events`. */
export class PublishEventDto {
  @IsOptional()
  @IsString({ message: TYPE_RULE })
  @Matches(EVENT_TYPE_PATTERN, { message: TYPE_RULE })
  type?: string;

  @IsDefined({ message: 'data is required (any JSON value)' })
  data!: unknown;
}

/** One item of `POST /v1/events`. */
export class BatchEventDto extends PublishEventDto {
  @IsString({ message: 'topic must be a string' })
  @Matches(TOPIC_PATTERN, { message: 'topic must be 1-256 characters from A-Z a-z 0-9 _ - . : / ~ @' })
  topic!: string;
}
