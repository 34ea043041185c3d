import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { signJwt } from '../src/auth/jwt.js';
import { FIGURE_NAMES, FIGURES } from '../src/monitoring/figures.js';
import { MonitoringService } from '../src/monitoring/monitoring.service.js';
import { ConnectionRegistry } from '../src/streams/connection-registry.js';
import { REFUSE_REASONS, type RefuseReason } from '../src/streams/stream-counters.js';
import type { HeraldStatus } from '../src/monitoring/status.js';
import { RawSseClient } from './support/raw-sse.js';
import {
  ADMIN_TOKEN,
  PUBLISH_TOKEN,
  eventually,
  publishOk,
  request,
  startHerald,
  type RunningHerald,
} from './support/herald.js';
import { describeWith, which } from './support/services.js';

const SECRET = 'a-jwt-secret-that-is-at-least-32-chars';
const ready = (client: RawSseClient): Promise<string> => client.waitForBody((body) => body.startsWith('retry:'));
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

/** `name{labels}` → value, from a Prometheus text exposition. */
function parseExposition(body: string): Map<string, number> {
  const series = new Map<string, number>();
  for (const line of body.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    series.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return series;
}

async function scrape(herald: RunningHerald): Promise<Map<string, number>> {
  const answer = await request<string>(`${herald.url}/metrics`);
  expect(answer.status).toBe(200);
  expect(answer.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseExposition(answer.body);
}

function value(metrics: Map<string, number>, series: string): number {
  const found = metrics.get(series);
  if (found === undefined) throw new Error(`${series} is not exported`);
  return found;
}

/**
 * The least and most the latency sum may have grown by between two scrapes: each delivery
 * counted in the bucket (lower, upper] contributes at least `lower` and at most `upper`
 * seconds (the +Inf bucket has no upper bound).
 */
function latencyBounds(before: Map<string, number>, after: Map<string, number>): [number, number] {
  const prefix = 'herald_delivery_latency_seconds_bucket{le="';
  const cumulative = [...after.keys()]
    .filter((series) => series.startsWith(prefix))
    .map((series) => {
      const le = series.slice(prefix.length, -2);
      return { le: le === '+Inf' ? Infinity : Number(le), count: value(after, series) - value(before, series) };
    })
    .sort((a, b) => a.le - b.le);
  let least = 0;
  let most = 0;
  let lower = 0;
  let below = 0;
  for (const { le, count } of cumulative) {
    const inBucket = count - below;
    least += inBucket * lower;
    if (inBucket > 0) most += inBucket * le;
    lower = le;
    below = count;
  }
  return [least, most];
}

async function status(herald: RunningHerald): Promise<HeraldStatus> {
  const answer = await request<HeraldStatus>(`${herald.url}/status`);
  expect(answer.status).toBe(200);
  return answer.body;
}

/** Resolves after the monitor has taken a snapshot that started after this call. */
async function nextSnapshot(herald: RunningHerald): Promise<void> {
  const monitoring = herald.get<MonitoringService>(MonitoringService);
  await new Promise<void>((resolve) => {
    const stop = monitoring.onSnapshot(() => {
      stop();
      resolve();
    });
  });
}

const bytes = (client: RawSseClient): number => Buffer.byteLength(client.body);

describe('Monitoring against reality: connections, deliveries, closes', () => {
  let herald: RunningHerald;
  const clients: RawSseClient[] = [];
  const open = (path: string, localAddress?: string): RawSseClient => {
    const client = new RawSseClient(`${herald.url}${path}`, { localAddress });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    herald = await startHerald({
      SNAPSHOT_INTERVAL_MS: '200',
      HEARTBEAT_INTERVAL_MS: '600000',
      MAX_CONNECTIONS: '50',
      HISTORY_SIZE: '20',
    });
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await herald?.close();
  });

  it('N open streams: herald_connections_active = N, and /status and the alert figures agree', async () => {
    const before = await scrape(herald);
    expect(value(before, 'herald_connections_active')).toBe(0);
    const local = Array.from({ length: 4 }, () => open('/v1/events?topic=mon/a'));
    const other = Array.from({ length: 2 }, () => open('/v1/events?topic=mon/a&topic=mon/b', '127.0.0.2'));
    await Promise.all([...local, ...other].map(ready));

    const after = await scrape(herald);
    expect(value(after, 'herald_connections_active')).toBe(6);
    expect(value(after, 'herald_connections_opened_total') - value(before, 'herald_connections_opened_total')).toBe(6);
    expect(value(after, 'herald_capacity_ratio')).toBeCloseTo(6 / 50, 9);
    expect(value(after, 'herald_connections_max')).toBe(50);

    const now = await status(herald);
    expect(now.connections.active).toBe(6);
    expect(now.connections.total).toBe(value(after, 'herald_connections_opened_total'));
    expect(now.connections.perMinute).toBe(6);
    expect(now.connections.capacityRatio).toBeCloseTo(6 / 50, 9);

    await nextSnapshot(herald);
    const snapshot = await status(herald);
    // Top IPs, busiest first.
    expect(Object.entries(snapshot.connections.perIp)).toEqual([
      ['127.0.0.1', 4],
      ['127.0.0.2', 2],
    ]);
    const figures = herald.get<MonitoringService>(MonitoringService).figures();
    expect(figures.active_connections).toBe(6);
    expect(figures.capacity_ratio).toBeCloseTo(6 / 50, 6);
    expect(snapshot.memory.bytesPerConnection).not.toBeNull();
  });

  it('publishing moves events, deliveries, bytes and the latency histogram by the exact amounts', async () => {
    const listeners = clients.slice(0, 6);
    const before = await scrape(herald);
    const bodyBefore = listeners.map(bytes);
    const payloads: unknown[] = [
      'plain text',
      { unicode: 'Grüße € 🚚', n: 42 },
      'two\nlines',
      { big: 'x'.repeat(5_000) },
    ];
    for (const data of payloads) await publishOk(herald, 'mon/a', data);
    await publishOk(herald, 'mon/b', 'only the two on 127.0.0.2');
    await Promise.all(listeners.slice(0, 4).map((client) => client.waitForEvents(4)));
    await Promise.all(listeners.slice(4).map((client) => client.waitForEvents(5)));

    const after = await scrape(herald);
    const delta = (series: string): number => value(after, series) - value(before, series);
    const received = listeners.reduce((sum, client, i) => sum + bytes(client) - bodyBefore[i], 0);
    expect(delta('herald_events_published_total')).toBe(5);
    expect(delta('herald_deliveries_total')).toBe(4 * 4 + 2 * 5);
    expect(delta('herald_delivery_bytes_total')).toBe(received);
    expect(delta('herald_delivery_latency_seconds_count')).toBe(26);
    expect(delta('herald_delivery_latency_seconds_bucket{le="+Inf"}')).toBe(26);
    // A raw-format subscriber of both topics received each published frame once, byte for byte.
    expect(delta('herald_events_published_bytes_total')).toBe(bytes(listeners[5]) - bodyBefore[5]);
    // Latency is measured against the event's millisecond timestamp, so loopback deliveries
    // may all read 0 ms; the sum must lie within what the buckets say was observed.
    const [least, most] = latencyBounds(before, after);
    expect(delta('herald_delivery_latency_seconds_sum')).toBeGreaterThanOrEqual(least);
    expect(delta('herald_delivery_latency_seconds_sum')).toBeLessThanOrEqual(most);
    expect(delta('herald_delivery_latency_seconds_sum')).toBeLessThan(26 * 5);

    await nextSnapshot(herald);
    const snapshot = await status(herald);
    expect(snapshot.throughput.averageMessageBytes).toBeGreaterThan(0);
    expect(snapshot.throughput.deliveryLatencyMs.p99).toBeGreaterThan(0);
    expect(snapshot.throughput.deliveryLatencyMs.p99).toBeLessThan(5_000);
    expect(snapshot.throughput.historyEvents).toBe(value(after, 'herald_history_events'));
    expect(snapshot.connections.messagesPerConnection).toBeCloseTo(
      value(after, 'herald_deliveries_total') / value(after, 'herald_connections_opened_total'),
      3,
    );
  });

  it('the per-snapshot rates add up to the exact counts (dashboard chart points)', async () => {
    const feed = new RawSseClient(`${herald.url}/dashboard/stream`, { headers: admin });
    await feed.waitForEvents(2);
    expect(feed.events.map((event) => event.event)).toEqual(['history', 'snapshot']);
    const startedAt = (JSON.parse(feed.events[1].data) as { point: { at: number } }).point.at;
    for (let i = 0; i < 30; i++) await publishOk(herald, 'mon/a', { i });
    // All six streams listen to mon/a (two of them to mon/b too).
    await Promise.all(clients.slice(0, 4).map((client) => client.waitForEvents(4 + 30)));
    await Promise.all(clients.slice(4, 6).map((client) => client.waitForEvents(5 + 30)));
    // Two more snapshots: every delivery has landed in some interval.
    await nextSnapshot(herald);
    await nextSnapshot(herald);
    await eventually(() => feed.events.length >= 5, 5_000, 'snapshot frames');
    feed.close();
    const points = feed.events
      .filter((event) => event.event === 'snapshot')
      .map((event) => (JSON.parse(event.data) as { point: { at: number; deliveriesPerSecond: number } }).point);
    let deliveries = 0;
    for (let i = 1; i < points.length; i++) {
      if (points[i - 1].at < startedAt) continue;
      deliveries += (points[i].deliveriesPerSecond * (points[i].at - points[i - 1].at)) / 1000;
    }
    expect(Math.round(deliveries)).toBe(6 * 30);
  });

  it('closes are counted by reason; the duration histogram and averages follow', async () => {
    const before = await scrape(herald);
    const [first, second] = clients.splice(0, 2);
    first.close();
    second.close();
    const list = await request<Array<{ id: string; ip: string }>>(`${herald.url}/v1/admin/connections`, {
      headers: admin,
    });
    const victim = list.body.find((connection) => connection.ip === '127.0.0.2');
    expect(victim).toBeDefined();
    const kick = await request(`${herald.url}/v1/admin/connections/${victim?.id}`, {
      method: 'DELETE',
      headers: admin,
    });
    expect(kick.status).toBeLessThan(300);

    await eventually(() => herald.get<ConnectionRegistry>(ConnectionRegistry).open === 3, 5_000, 'three closed');
    const after = await scrape(herald);
    const delta = (series: string): number => value(after, series) - value(before, series);
    expect(value(after, 'herald_connections_active')).toBe(3);
    expect(delta('herald_connections_closed_total{reason="client"}')).toBe(2);
    expect(delta('herald_connections_closed_total{reason="kicked"}')).toBe(1);
    expect(delta('herald_connection_duration_seconds_count')).toBe(3);
    expect(delta('herald_connection_duration_seconds_sum')).toBeGreaterThan(0);
    const now = await status(herald);
    expect(now.connections.closedByReason.client).toBe(
      value(after, 'herald_connections_closed_total{reason="client"}'),
    );
    expect(now.connections.closedByReason.kicked).toBe(1);
    expect(now.connections.averageDurationMs).toBeGreaterThan(0);
    expect(now.connections.averageDurationMs).toBeLessThan(60_000);
  });

  it('a slow consumer is counted, and the slow_consumer_disconnects figure says so', async () => {
    const registry = herald.get<ConnectionRegistry>(ConnectionRegistry);
    const stalled = new RawSseClient(`${herald.url}/v1/events?topic=flood`, { paused: true });
    await eventually(() => registry.list().some((view) => view.topics.includes('flood')), 5_000, 'stalled stream');
    const payload = 'x'.repeat(60 * 1024);
    for (let batch = 0; batch < 15 && registry.counters.closed['slow-consumer'] === 0; batch++) {
      const answer = await request(`${herald.url}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${PUBLISH_TOKEN}` },
        json: Array.from({ length: 20 }, () => ({ topic: 'flood', data: payload })),
      });
      expect(answer.status).toBe(202);
    }
    await eventually(() => registry.counters.closed['slow-consumer'] === 1, 5_000, 'slow consumer cut');
    stalled.close();
    await nextSnapshot(herald);
    expect(herald.get<MonitoringService>(MonitoringService).figures().slow_consumer_disconnects).toBe(1);
    expect(value(await scrape(herald), 'herald_connections_closed_total{reason="slow-consumer"}')).toBe(1);
  });

  it('a blocked event loop shows in event_loop_lag_p99_ms and /status', async () => {
    await nextSnapshot(herald);
    const until = Date.now() + 150;
    while (Date.now() < until) {
      // Busy-wait: this process is the server, so its event loop is blocked for 150 ms.
    }
    const monitoring = herald.get<MonitoringService>(MonitoringService);
    await eventually(() => monitoring.figures().event_loop_lag_p99_ms >= 100, 2_000, 'the blocked loop reported');
    expect(monitoring.status().throughput.eventLoopDelayMs.p99).toBeGreaterThanOrEqual(100);
  });

  it('herald_alert_figure carries every figure the alert rules compare, as the snapshot computed it', async () => {
    const monitoring = herald.get<MonitoringService>(MonitoringService);
    // One scrape that falls between two snapshots (one every 200 ms), so it saw `figures`.
    let figures = monitoring.figures();
    let body = '';
    for (let attempt = 0; attempt < 5; attempt++) {
      await nextSnapshot(herald);
      figures = monitoring.figures();
      body = (await request<string>(`${herald.url}/metrics`)).body;
      if (monitoring.figures() === figures) break;
    }
    const exported = parseExposition(body);
    expect(FIGURE_NAMES.length).toBeGreaterThan(0);
    for (const name of FIGURE_NAMES) {
      expect(value(exported, `herald_alert_figure{figure="${name}"}`)).toBe(figures[name]);
    }
    expect([...exported.keys()].filter((series) => series.startsWith('herald_alert_figure'))).toHaveLength(
      FIGURE_NAMES.length,
    );
    const help = body.split('\n').find((line) => line.startsWith('# HELP herald_alert_figure '));
    for (const name of FIGURE_NAMES) expect(help).toContain(`${name}: ${FIGURES[name].description}`);
  });

  it('/status has the shape of API.md and its memory agrees with the process', async () => {
    await nextSnapshot(herald);
    const now = await status(herald);
    const real = process.memoryUsage();
    expect(Object.keys(now.connections)).toEqual(
      expect.arrayContaining(['active', 'total', 'perMinute', 'perIp', 'averageDurationMs', 'messagesPerConnection']),
    );
    for (const key of ['heapUsed', 'heapTotal', 'rss', 'external', 'arrayBuffers'] as const) {
      expect(typeof now.memory.latest[key]).toBe('number');
    }
    // Herald runs in this process: what it reports is what the process uses (within GC churn).
    expect(now.memory.latest.rss / real.rss).toBeGreaterThan(0.7);
    expect(now.memory.latest.rss / real.rss).toBeLessThan(1.3);
    expect(now.memory.trend.min).toBeLessThanOrEqual(now.memory.trend.avg);
    expect(now.memory.trend.avg).toBeLessThanOrEqual(now.memory.trend.max);
    expect(now.memory.leak).toEqual(
      expect.objectContaining({ suspected: expect.any(Boolean), slopeBytesPerSecond: expect.any(Number) }),
    );
    expect(now.memory.leak.confidence).toBeGreaterThanOrEqual(0);
    expect(now.memory.leak.confidence).toBeLessThanOrEqual(1);
    for (const key of ['messagesPerSecond', 'deliveriesPerSecond', 'bytesPerSecond', 'averageMessageBytes'] as const) {
      expect(typeof now.throughput[key]).toBe('number');
    }
    expect(now.throughput.deliveryLatencyMs).toEqual({ p50: expect.any(Number), p99: expect.any(Number) });
    expect(now.alerts).toEqual({ active: [] });
    expect(Date.parse(now.at)).toBeGreaterThan(Date.now() - 5_000);
  });

  it('/status lists the alerts source’s active alerts; a failing source does not break it', async () => {
    const monitoring = herald.get<MonitoringService>(MonitoringService);
    const alert = {
      ruleId: 'r1',
      name: 'many streams',
      severity: 'warning',
      value: 3,
      startedAt: new Date().toISOString(),
    };
    monitoring.registerAlertsSource({ active: () => [alert], recent: () => [] });
    expect((await status(herald)).alerts.active).toEqual([alert]);
    expect(value(await scrape(herald), 'herald_alerts_active{severity="warning"}')).toBe(1);
    monitoring.registerAlertsSource({
      active: () => {
        throw new Error('store unavailable');
      },
    });
    expect((await status(herald)).alerts.active).toEqual([]);
  });

  it('label cardinality is bounded: many topics and client IPs add no series', async () => {
    const names = (metrics: Map<string, number>): string[] =>
      [...metrics.keys()].filter((series) => series.startsWith('herald_')).sort();
    const before = names(await scrape(herald));
    const burst = Array.from({ length: 12 }, (_, i) => open(`/v1/events?topic=card/${i}`, `127.0.1.${i + 1}`));
    await Promise.all(burst.map(ready));
    for (let i = 0; i < 12; i++) await publishOk(herald, `card/${i}`, i);
    const after = names(await scrape(herald));
    expect(after).toEqual(before);
    for (const series of after) expect(series).toMatch(/^herald_[a-z_]+(\{(reason|severity|figure|le)="[^"]+"\})?$/);
  });

  describeWith(which('promtool') !== undefined, 'promtool (Debian package prometheus) is not installed')(
    'promtool',
    () => {
      it('the live /metrics body passes `promtool check metrics`', async () => {
        const body = (await request<string>(`${herald.url}/metrics`)).body;
        expect(body).toContain('herald_delivery_latency_seconds_bucket');
        expect(body).toContain('process_cpu_user_seconds_total');
        expect(body).toContain('nodejs_eventloop_lag_p99_seconds');
        const output = execFileSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8' });
        expect(output.trim()).toBe('');
      });
    },
  );
});

describe('Monitoring: refusals counted by reason', () => {
  let herald: RunningHerald;
  const clients: RawSseClient[] = [];
  const token = (tenant: string): string => signJwt({ topics: ['mon'], tenant }, SECRET);
  const open = (localAddress: string, jwt?: string): RawSseClient => {
    const headers: Record<string, string> = jwt === undefined ? {} : { authorization: `Bearer ${jwt}` };
    const client = new RawSseClient(`${herald.url}/v1/events?topic=mon`, { localAddress, headers });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    herald = await startHerald({
      JWT_SECRET: SECRET,
      MAX_CONNECTIONS: '3',
      CAPACITY_THRESHOLD: '1',
      MAX_CONNECTIONS_PER_IP: '1',
      MAX_CONNECTIONS_PER_TENANT: '1',
      SNAPSHOT_INTERVAL_MS: '200',
    });
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await herald?.close();
  });

  it('auth, per-ip, per-tenant and capacity refusals each move their own counter by one', async () => {
    const refused = async (client: RawSseClient, statusCode: number): Promise<void> => {
      expect(await client.waitForStatus()).toBe(statusCode);
    };
    await refused(open('127.0.0.2'), 401);
    await ready(open('127.0.0.2', token('t1')));
    await refused(open('127.0.0.2', token('t2')), 429);
    await refused(open('127.0.0.3', token('t1')), 429);
    await ready(open('127.0.0.3', token('t3')));
    await ready(open('127.0.0.4', token('t4')));
    await refused(open('127.0.0.5', token('t5')), 503);

    const metrics = await scrape(herald);
    const triggered: Partial<Record<RefuseReason, number>> = { auth: 1, 'per-ip': 1, 'per-tenant': 1, capacity: 1 };
    const expected = Object.fromEntries(REFUSE_REASONS.map((reason) => [reason, triggered[reason] ?? 0]));
    for (const [reason, count] of Object.entries(expected)) {
      expect(value(metrics, `herald_connections_refused_total{reason="${reason}"}`)).toBe(count);
    }
    expect(value(metrics, 'herald_connections_active')).toBe(3);
    expect(value(metrics, 'herald_capacity_ratio')).toBe(1);
    const now = await status(herald);
    expect(now.connections.refusedByReason).toEqual(expected);
    expect(now.connections.active).toBe(3);
    // A refused request never counted as a connection.
    expect(now.connections.total).toBe(3);
  });
});
