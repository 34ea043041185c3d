import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { TOPIC_PATTERN, TOPIC_PREFIX_PATTERN } from '@herald/sse';
import { IsOptional, Matches } from 'class-validator';
import { ID_PATTERN, ID_RULE, MASK } from '../../alerts/alert-model.js';
import { IsHttpUrl } from '../../alerts/channels/alert-channel.js';
import { IsWebhookSecret } from '../../openapi/webhooks.js';
import { TOPIC_PREFIX_RULE } from '../topics.schema.js';

/** An occupancy webhook as stored: the secret in clear, the prefix always there (`''`: every topic). */
export interface OccupancyWebhook {
  id: string;
  url: string;
  secret?: string;
  prefix: string;
}

/** Every occupancy webhook, as one store keeps them. */
export interface OccupancyWebhooksDocument {
  version: 1;
  /** Bumped on every write, so a shared store can tell a newer document from its own. */
  revision: number;
  webhooks: OccupancyWebhook[];
}

const PREFIX_PROPERTY = {
  type: 'string',
  pattern: TOPIC_PREFIX_PATTERN.source,
  maxLength: 256,
  example: 'rooms/',
} as const;

/** Body of `POST|PUT /v1/admin/occupancy/webhooks` (docs/operations.md, Occupancy webhooks). */
export class OccupancyWebhookDto {
  @ApiPropertyOptional({
    type: 'string',
    pattern: ID_PATTERN.source,
    description: 'On create: choose a readable id (else a UUID is made; 409 if taken). On replace: the id of the path.',
    example: 'rooms-crm',
  })
  @IsOptional()
  @Matches(ID_PATTERN, { message: ID_RULE })
  id?: string;

  @ApiProperty({
    type: 'string',
    format: 'uri',
    description: 'Where the transitions are POSTed: an absolute http:// or https:// URL.',
    example: 'https://crm.example.com/herald/occupancy',
  })
  @IsHttpUrl()
  url!: string;

  @IsWebhookSecret()
  secret?: string | null;

  @ApiPropertyOptional({
    ...PREFIX_PROPERTY,
    default: '',
    description: 'Only transitions of topics that start with it are sent; empty or left out: every topic.',
  })
  @IsOptional()
  @Matches(TOPIC_PREFIX_PATTERN, { message: TOPIC_PREFIX_RULE })
  prefix?: string;
}

@ApiSchema({ name: 'OccupancyWebhook', description: 'An occupancy webhook; its secret, when it has one, is masked.' })
export class OccupancyWebhookView implements OccupancyWebhook {
  @ApiProperty({ type: 'string', pattern: ID_PATTERN.source, example: 'rooms-crm' })
  id!: string;

  @ApiProperty({ type: 'string', format: 'uri', example: 'https://crm.example.com/herald/occupancy' })
  url!: string;

  @ApiPropertyOptional({ enum: [MASK], description: 'Present when the webhook has a secret; never shown.' })
  secret?: string;

  @ApiProperty({ ...PREFIX_PROPERTY, description: 'The topic prefix it is sent for (`""`: every topic).' })
  prefix!: string;
}

/** What a webhook receives for one transition (docs/operations.md, Occupancy webhooks). */
@ApiSchema({
  name: 'OccupancyTransition',
  description: 'A topic became occupied (0 → 1 or more streams, cluster-wide) or vacated.',
})
export class OccupancyNotificationView {
  @ApiProperty({ enum: ['occupied', 'vacated'], example: 'occupied' })
  event!: 'occupied' | 'vacated';

  @ApiProperty({ type: 'string', pattern: TOPIC_PATTERN.source, example: 'rooms/42' })
  topic!: string;

  @ApiProperty({
    type: 'string',
    format: 'date-time',
    description: 'When the count left 0 (`occupied`), or reached 0 for good (`vacated`, after VACATED_GRACE_MS).',
    example: '2026-11-18T09:24:00.000Z',
  })
  at!: string;
}
