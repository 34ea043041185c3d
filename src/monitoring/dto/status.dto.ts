import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import { CLOSE_REASONS, REFUSE_REASONS, type CloseReason, type RefuseReason } from '../../streams/stream-counters.js';
import type { TrendWindow } from '../memory-monitor.js';
import { COUNT, countsBy, NUMBER } from './properties.js';

/** `GET /status`: one class tree, documented and returned. Bytes and milliseconds are plain numbers. */

@ApiSchema({ name: 'PercentilesView', description: 'Median and 99th percentile, ms.' })
export class Percentiles {
  @ApiProperty({ ...NUMBER, example: 1.2 })
  p50!: number;

  @ApiProperty({ ...NUMBER, example: 8.5 })
  p99!: number;
}

@ApiSchema({ description: 'heapUsed over a window, bytes.' })
export class HeapTrend {
  @ApiProperty({ ...COUNT, example: 41_200_000 })
  min!: number;

  @ApiProperty({ ...COUNT, example: 43_900_000 })
  avg!: number;

  @ApiProperty({ ...COUNT, example: 47_100_000 })
  max!: number;

  @ApiProperty({ ...COUNT, example: 600_000 })
  windowMs!: number;
}

@ApiSchema({ description: 'One firing alert.' })
export class ActiveAlertView {
  @ApiProperty({ type: 'string', example: 'capacity-high' })
  ruleId!: string;

  @ApiProperty({ type: 'string', example: 'Capacity high' })
  name!: string;

  @ApiProperty({ enum: ['info', 'warning', 'critical'], example: 'critical' })
  severity!: string;

  @ApiProperty({ type: 'number', example: 0.93 })
  value!: number;

  @ApiProperty({ type: 'string', format: 'date-time', example: '2026-11-18T09:24:00.000Z' })
  startedAt!: string;
}

export class StatusConnections {
  @ApiProperty({ ...COUNT, description: 'Open streams now.', example: 4213 })
  active!: number;

  @ApiProperty({ ...COUNT, description: 'Streams opened since start.', example: 98_311 })
  total!: number;

  @ApiProperty({ ...COUNT, description: 'Streams opened in the last 60 s.', example: 312 })
  perMinute!: number;

  @ApiProperty({
    type: 'object',
    additionalProperties: COUNT,
    maxProperties: 20,
    description: 'Open streams of the 20 busiest client IPs (as of the last snapshot).',
    example: { '10.1.2.3': 97, '10.1.2.4': 12 },
  })
  perIp!: Record<string, number>;

  @ApiProperty({
    type: 'object',
    additionalProperties: COUNT,
    maxProperties: 20,
    description:
      "Open streams on this instance of its 20 busiest topics (bounded; a topic's count across instances: " +
      '`GET /v1/topics/{topic}`).',
    example: { 'trucks/42': 31, 'prices/EURUSD': 12 },
  })
  perTopic!: Record<string, number>;

  @ApiProperty({ ...COUNT, description: 'Topics with at least one open stream on this instance.', example: 2 })
  topicsActive!: number;

  @ApiProperty({ ...COUNT, description: 'Mean lifetime of closed streams.', example: 184_000 })
  averageDurationMs!: number;

  @ApiProperty({ type: Percentiles, description: 'Lifetime of closed streams.' })
  durationMs!: Percentiles;

  @ApiProperty({ ...NUMBER, description: 'Events delivered per stream opened since start.', example: 142.7 })
  messagesPerConnection!: number;

  @ApiProperty({ ...COUNT, example: 21_930 })
  bytesPerConnection!: number;

  @ApiProperty(
    countsBy(CLOSE_REASONS, 'Streams closed since start, by reason.', {
      client: 97_004,
      draining: 0,
      'max-age': 1012,
      'slow-consumer': 3,
      kicked: 1,
      'token-expired': 78,
    }),
  )
  closedByReason!: Record<CloseReason, number>;

  @ApiProperty(
    countsBy(REFUSE_REASONS, 'Subscriptions refused since start, by reason.', {
      capacity: 0,
      draining: 0,
      'per-ip': 12,
      'per-tenant': 0,
      auth: 4,
    }),
  )
  refusedByReason!: Record<RefuseReason, number>;

  @ApiProperty({ ...COUNT, description: 'MAX_CONNECTIONS.', example: 10_000 })
  maxConnections!: number;

  @ApiProperty({ ...NUMBER, description: 'active / MAX_CONNECTIONS.', example: 0.4213 })
  capacityRatio!: number;
}

export class MemoryLatest {
  @ApiProperty({ ...COUNT, example: 45_100_000 })
  heapUsed!: number;

  @ApiProperty({ ...COUNT, example: 61_800_000 })
  heapTotal!: number;

  @ApiProperty({ ...COUNT, example: 131_000_000 })
  rss!: number;

  @ApiProperty({ ...COUNT, example: 3_900_000 })
  external!: number;

  @ApiProperty({ ...COUNT, example: 1_200_000 })
  arrayBuffers!: number;
}

export class LeakStatus {
  @ApiProperty({ type: 'boolean', example: false })
  suspected!: boolean;

  @ApiProperty({ type: 'number', description: 'Least-squares slope of the heap floor.', example: 120 })
  slopeBytesPerSecond!: number;

  @ApiProperty({ type: 'number', example: 0.01 })
  slopeMbPerMinute!: number;

  @ApiProperty({ type: 'number', minimum: 0, maximum: 1, example: 0.12 })
  confidence!: number;

  @ApiProperty({ type: 'number', minimum: 0, maximum: 1, description: 'R² of the fit.', example: 0.2 })
  fit!: number;

  @ApiProperty({ ...COUNT, example: 600_000 })
  windowMs!: number;

  @ApiProperty({
    enum: ['collections', 'snapshots'],
    description:
      "`collections`: fitted to heap readings right after full garbage collections; `snapshots`: to each sub-window's lowest snapshot.",
    example: 'collections',
  })
  basis!: 'collections' | 'snapshots';

  @ApiProperty({
    enum: ['warm-up', 'clear', 'growing', 'suspected'],
    description:
      '`warm-up`: the first leak window after start, not judged; `growing`: the window shows unexplained growth, not yet for half a window; `suspected` once it has.',
    example: 'clear',
  })
  phase!: 'warm-up' | 'clear' | 'growing' | 'suspected';

  @ApiProperty({
    type: 'array',
    items: { type: 'string', enum: ['streams', 'retainedBytes'] },
    description: 'Load terms the heap floor was fitted to besides time (those that varied in the window).',
    example: ['streams'],
  })
  explainedBy!: ('streams' | 'retainedBytes')[];

  @ApiProperty({
    type: 'string',
    format: 'date-time',
    nullable: true,
    description: 'When the current suspicion began.',
    example: null,
  })
  suspectedSince!: string | null;
}

/** The trend windows, by name. */
export class HeapTrends implements Record<TrendWindow, HeapTrend> {
  @ApiProperty({ type: HeapTrend })
  '1m'!: HeapTrend;

  @ApiProperty({ type: HeapTrend })
  '5m'!: HeapTrend;

  @ApiProperty({ type: HeapTrend })
  '15m'!: HeapTrend;
}

export class StreamCost {
  @ApiProperty({ ...COUNT, description: 'From the lowest recent heap floor.', example: 5200 })
  bytes!: number;

  @ApiProperty({ ...COUNT, description: 'The estimate from the lowest of the last few snapshots.', example: 5200 })
  low!: number;

  @ApiProperty({ ...COUNT, description: 'The estimate from the highest of the last few snapshots.', example: 7900 })
  high!: number;

  @ApiProperty({ ...COUNT, description: 'Open streams it is based on.', example: 2000 })
  streams!: number;
}

export class StatusMemory {
  @ApiProperty({ type: MemoryLatest, description: 'process.memoryUsage() at the last snapshot, bytes.' })
  latest!: MemoryLatest;

  @ApiProperty({ type: HeapTrend, description: 'heapUsed over the leak window.' })
  trend!: HeapTrend;

  @ApiProperty({ type: HeapTrends, description: 'heapUsed over the last minute, 5 and 15 minutes.' })
  trends!: HeapTrends;

  @ApiProperty({ type: LeakStatus })
  leak!: LeakStatus;

  @ApiProperty({
    type: 'integer',
    nullable: true,
    description: 'Heap floor above the idle floor, per open stream; null with none open.',
    example: 5200,
  })
  bytesPerConnection!: number | null;

  @ApiProperty({
    type: StreamCost,
    nullable: true,
    description: 'The per-stream estimate with its spread; null below 100 open streams, where it is mostly noise.',
  })
  streamCost!: StreamCost | null;
}

export class StatusThroughput {
  @ApiProperty({ ...NUMBER, description: 'Events published per second over the last snapshot interval.', example: 850 })
  messagesPerSecond!: number;

  @ApiProperty({ ...NUMBER, example: 120_400 })
  deliveriesPerSecond!: number;

  @ApiProperty({ ...NUMBER, description: 'Delivered bytes per second.', example: 18_200_000 })
  bytesPerSecond!: number;

  @ApiProperty({ ...NUMBER, example: 151 })
  averageMessageBytes!: number;

  @ApiProperty({ type: Percentiles, description: 'Publish → socket write, over the last 60 s.' })
  deliveryLatencyMs!: Percentiles;

  @ApiProperty({ type: Percentiles, description: 'Event-loop delay over the last snapshot interval.' })
  eventLoopDelayMs!: Percentiles;

  @ApiProperty({ ...COUNT, description: 'Events held in history for replay.', example: 30_000 })
  historyEvents!: number;

  @ApiProperty({
    ...COUNT,
    nullable: true,
    description: 'Encoded bytes of the history held in this process; null when history lives in Redis.',
    example: 9_400_000,
  })
  historyBytes!: number | null;
}

export class StatusAlerts {
  @ApiProperty({ type: [ActiveAlertView], description: 'Firing alerts.' })
  active!: ActiveAlertView[];
}

/** `GET /status` (docs/operations.md, Metrics, status and dashboard): fields beyond the contract's are extensions, never renames. */
@ApiSchema({ name: 'Status', description: 'The JSON snapshot of `GET /status`.' })
export class StatusView {
  @ApiProperty({
    type: 'string',
    format: 'date-time',
    description: 'When the snapshot figures were computed.',
    example: '2026-11-18T09:24:05.000Z',
  })
  at!: string;

  @ApiProperty({ ...COUNT, example: 86_400 })
  uptimeSeconds!: number;

  @ApiProperty({ type: StatusConnections })
  connections!: StatusConnections;

  @ApiProperty({ type: StatusMemory })
  memory!: StatusMemory;

  @ApiProperty({ type: StatusThroughput })
  throughput!: StatusThroughput;

  @ApiProperty({ type: StatusAlerts })
  alerts!: StatusAlerts;
}
