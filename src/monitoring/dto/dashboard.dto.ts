import { ApiProperty, ApiSchema, getSchemaPath } from '@nestjs/swagger';
import { jsonText } from '../../openapi/json-text.js';
import { REFUSE_REASONS, type RefuseReason } from '../../streams/stream-counters.js';
import { COUNT, countsBy, NUMBER } from './properties.js';
import { StatusView } from './status.dto.js';

/** The dashboard stream's frames and what they carry. */

/** One point of the dashboard's charts: what the service keeps and the stream sends. */
@ApiSchema({ name: 'ChartPointView', description: 'One point of the dashboard charts.' })
export class ChartPoint {
  @ApiProperty({ type: 'integer', description: 'ms since the Unix epoch.', example: 1795459440620 })
  at!: number;

  @ApiProperty({ ...COUNT, example: 4213 })
  active!: number;

  @ApiProperty({ ...COUNT, example: 45_100_000 })
  heapUsed!: number;

  @ApiProperty({ ...COUNT, example: 131_000_000 })
  rss!: number;

  @ApiProperty({ ...NUMBER, example: 850 })
  messagesPerSecond!: number;

  @ApiProperty({ ...NUMBER, example: 120_400 })
  deliveriesPerSecond!: number;

  @ApiProperty({ ...NUMBER, example: 18_200_000 })
  bytesPerSecond!: number;

  @ApiProperty({ ...NUMBER, example: 1.2 })
  latencyP50Ms!: number;

  @ApiProperty({ ...NUMBER, example: 8.5 })
  latencyP99Ms!: number;

  @ApiProperty({ ...NUMBER, example: 3.1 })
  eventLoopP99Ms!: number;

  @ApiProperty(countsBy(REFUSE_REASONS, 'Refusals by reason during the interval that ended at `at`.'))
  refused!: Record<RefuseReason, number>;

  @ApiProperty({ type: 'boolean', example: false })
  leakSuspected!: boolean;
}

@ApiSchema({ description: "The dashboard stream's first frame: the chart history and the limits to draw." })
export class DashboardHistory {
  @ApiProperty({ type: [ChartPoint], description: 'Oldest first.' })
  points!: ChartPoint[];

  @ApiProperty({ ...COUNT, description: 'SNAPSHOT_INTERVAL_MS.', example: 5000 })
  snapshotIntervalMs!: number;

  @ApiProperty({ ...COUNT, example: 10_000 })
  maxConnections!: number;

  @ApiProperty({ ...NUMBER, example: 0.9 })
  capacityThreshold!: number;
}

@ApiSchema({ description: 'Sent on every monitoring snapshot.' })
export class DashboardSnapshot {
  @ApiProperty({ type: StatusView })
  status!: StatusView;

  @ApiProperty({ allOf: [{ $ref: getSchemaPath(ChartPoint) }], nullable: true })
  point!: ChartPoint | null;

  @ApiProperty({
    type: 'array',
    items: { $ref: getSchemaPath('AlertHistoryEntry') },
    description: 'The latest fired, resolved and test alerts, newest first.',
  })
  recentAlerts!: unknown[];
}

@ApiSchema({ description: 'event: history (first frame).' })
export class DashboardHistoryFrame {
  @ApiProperty({ enum: ['history'] })
  event!: 'history';

  @ApiProperty(
    jsonText(DashboardHistory, {
      points: [],
      snapshotIntervalMs: 5000,
      maxConnections: 10_000,
      capacityThreshold: 0.9,
    }),
  )
  data!: string;
}

@ApiSchema({ description: 'event: snapshot.' })
export class DashboardSnapshotFrame {
  @ApiProperty({ enum: ['snapshot'] })
  event!: 'snapshot';

  @ApiProperty({ ...jsonText(DashboardSnapshot), example: '{"status":{…},"point":{…},"recentAlerts":[]}' })
  data!: string;
}

export const DASHBOARD_MODELS = [DashboardHistory, DashboardSnapshot, DashboardHistoryFrame, DashboardSnapshotFrame];
