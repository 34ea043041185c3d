import { ApiProperty } from '@nestjs/swagger';
import { EXAMPLE_TOPIC, TOPIC_PROPERTY } from './properties.js';

/** One open stream, as `GET /v1/admin/connections` lists it (`ConnectionRegistry.list()`). */
export class Connection {
  @ApiProperty({ description: 'Connection id (for `DELETE /v1/admin/connections/{id}`).', example: 'k3x9a1' })
  id!: string;

  @ApiProperty({ description: 'Client IP (from `X-Forwarded-For` when TRUST_PROXY is on).', example: '10.1.2.3' })
  ip!: string;

  @ApiProperty({ type: 'string', nullable: true, description: "The JWT's `tenant` claim.", example: 'acme' })
  tenant!: string | null;

  @ApiProperty({ type: 'array', items: TOPIC_PROPERTY, example: [EXAMPLE_TOPIC, 'alerts'] })
  topics!: readonly string[];

  @ApiProperty({ type: 'string', format: 'date-time', example: '2026-11-18T09:24:00.620Z' })
  startedAt!: string;

  @ApiProperty({ type: 'integer', minimum: 0, description: 'Events written to this stream.', example: 1204 })
  messages!: number;

  @ApiProperty({ type: 'integer', minimum: 0, description: 'Bytes written to this stream.', example: 183020 })
  bytes!: number;

  @ApiProperty({
    type: 'integer',
    minimum: 0,
    description: 'Bytes queued and not yet taken by the socket (past MAX_QUEUE_BYTES it is a slow consumer).',
    example: 0,
  })
  unsentBytes!: number;
}
