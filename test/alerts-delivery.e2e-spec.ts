import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createHmac } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpReceiver, SmtpReceiver, type ReceivedRequest } from './support/alert-receivers.js';
import { ADMIN_TOKEN, publishOk, request, sleep, startHerald, type RunningHerald } from './support/herald.js';
import { eventually } from './support/poll.js';
import { RawSseClient } from './support/raw-sse.js';

const SECRET = 'webhook-signing-secret-3c1d';
const SMTP_USER = 'herald';
const SMTP_PASSWORD = 'smtp-password-9e8f';
const SNAPSHOT_MS = 200;
const SEND_TIMEOUT_MS = 1_500;

interface Notification {
  status: string;
  rule: { id: string; name: string; metric: string; op: string; threshold: number };
  severity: string;
  value: number;
  startedAt: string;
  resolvedAt?: string;
  instance: string;
}
interface Delivery {
  channelId: string;
  kind: string;
  result: string;
  attempts: number;
  error?: string;
  durationMs?: number;
}
interface HistoryEntry extends Notification {
  id: string;
  at: string;
  notified: boolean;
  deliveries: Delivery[];
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** Checks a webhook delivery the way a receiver should: signature over `<timestamp>.<raw body>`, fresh timestamp. */
function verifySignature(request: ReceivedRequest, secret: string): void {
  const timestamp = String(request.headers['x-herald-timestamp']);
  expect(timestamp).toMatch(/^\d{13}$/);
  expect(Math.abs(request.at - Number(timestamp))).toBeLessThan(5_000);
  const expected = createHmac('sha256', secret).update(`${timestamp}.${request.body}`).digest('hex');
  expect(request.headers['x-herald-signature']).toBe(`sha256=${expected}`);
}

describe('Alerts: real notifications to real receivers, driven by real connections', () => {
  let dir: string;
  let herald: RunningHerald;
  let http: HttpReceiver;
  let smtp: SmtpReceiver;
  const clients: RawSseClient[] = [];
  const rules: string[] = [];
  const channels: string[] = [];

  const admin = <T>(method: string, path: string, json?: unknown) =>
    request<T>(`${herald.url}/v1/admin/alerts${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      json,
    });
  const channel = async (body: Record<string, unknown>): Promise<string> => {
    const answer = await admin<{ id: string }>('POST', '/channels', body);
    expect(answer.status).toBe(201);
    channels.push(answer.body.id);
    return answer.body.id;
  };
  const webhook = (path: string, secret?: string) =>
    channel({ name: `hook ${path}`, kind: 'webhook', url: http.url(path), ...(secret ? { secret } : {}) });
  /** A rule on the number of open streams: opening a stream fires it, closing the last one resolves it. */
  const streamsRule = async (ruleChannels: string[], extra: Record<string, unknown> = {}): Promise<string> => {
    const answer = await admin<{ id: string }>('POST', '/rules', {
      name: 'Someone is listening',
      metric: 'active_connections',
      op: '>=',
      threshold: 1,
      forSeconds: 0,
      severity: 'critical',
      cooldownSeconds: 0,
      channels: ruleChannels,
      ...extra,
    });
    expect(answer.status).toBe(201);
    rules.push(answer.body.id);
    return answer.body.id;
  };
  const openStream = async (topic = 'alerts-e2e'): Promise<RawSseClient> => {
    const client = new RawSseClient(`${herald.url}/v1/events?topic=${topic}`);
    clients.push(client);
    await client.waitForBody((body) => body.startsWith('retry:'));
    return client;
  };
  const history = async (ruleId: string): Promise<HistoryEntry[]> =>
    (await admin<HistoryEntry[]>('GET', `/history?ruleId=${ruleId}`)).body;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'herald-alerts-delivery-'));
    http = await new HttpReceiver().start();
    smtp = await new SmtpReceiver(SMTP_USER, SMTP_PASSWORD).start();
    herald = await startHerald({
      ALERTS_STORE_PATH: join(dir, 'alerts.json'),
      SNAPSHOT_INTERVAL_MS: String(SNAPSHOT_MS),
      ALERTS_SEND_TIMEOUT_MS: String(SEND_TIMEOUT_MS),
      ALERTS_SEND_RETRIES: '2',
      HEARTBEAT_INTERVAL_MS: '60000',
      // Every line the module writes is captured, to search for secrets at the end.
      LOG_LEVEL: 'debug',
    });
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    for (const id of rules.splice(0)) await admin('DELETE', `/rules/${id}`);
    for (const id of channels.splice(0)) await admin('DELETE', `/channels/${id}`);
    // The next test starts from no open stream and no live alert.
    for (let i = 0; i < 50; i++) {
      const live = (await admin<unknown[]>('GET', '/active')).body;
      if (live.length === 0) break;
      await sleep(SNAPSHOT_MS);
    }
  });
  afterAll(async () => {
    await herald.close();
    await http.close();
    await smtp.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('webhook: firing then resolved, signed with the secret, with the body API.md defines', async () => {
    const hook = await webhook('/signed', SECRET);
    const ruleId = await streamsRule([hook]);
    const stream = await openStream();

    const [firing] = await http.waitFor('/signed', 1);
    verifySignature(firing, SECRET);
    expect(firing.headers['content-type']).toBe('application/json');
    expect(firing.json).toEqual({
      status: 'firing',
      rule: { id: ruleId, name: 'Someone is listening', metric: 'active_connections', op: '>=', threshold: 1 },
      severity: 'critical',
      value: 1,
      startedAt: expect.stringMatching(ISO),
      instance: `${hostname()}:${herald.port}`,
    });

    // Monitoring shows it: `/status` lists it as active, the dashboard feed in its recent alerts.
    const startedAt = (firing.json as Notification).startedAt;
    const status = await request<{ alerts: { active: unknown[] } }>(`${herald.url}/status`);
    expect(status.body.alerts.active).toContainEqual({
      ruleId,
      name: 'Someone is listening',
      severity: 'critical',
      value: 1,
      startedAt,
    });
    const dashboard = new RawSseClient(`${herald.url}/dashboard/stream`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    clients.push(dashboard);
    const frames = await dashboard.waitForEvents(2);
    const snapshot = JSON.parse(frames.find((frame) => frame.event === 'snapshot')?.data ?? '{}');
    expect(snapshot.recentAlerts[0]).toMatchObject({ status: 'firing', rule: { id: ruleId }, startedAt });
    dashboard.close();

    stream.close();
    const [, resolved] = await http.waitFor('/signed', 2);
    verifySignature(resolved, SECRET);
    const body = resolved.json as Notification;
    expect(body).toMatchObject({ status: 'resolved', value: 0, severity: 'critical', rule: { id: ruleId } });
    expect(body.startedAt).toBe((firing.json as Notification).startedAt);
    expect(body.resolvedAt).toMatch(ISO);
    expect(Date.parse(body.resolvedAt as string)).toBeGreaterThan(Date.parse(body.startedAt));
    // One delivery id per notification, shared by its retries only.
    expect(firing.headers['x-herald-delivery']).not.toBe(resolved.headers['x-herald-delivery']);

    const after = await request<{ alerts: { active: Array<{ ruleId: string }> } }>(`${herald.url}/status`);
    expect(after.body.alerts.active.map((alert) => alert.ruleId)).not.toContain(ruleId);

    const entries = await history(ruleId);
    expect(entries.map((entry) => entry.status)).toEqual(['resolved', 'firing']);
    for (const entry of entries) {
      expect(entry.notified).toBe(true);
      expect(entry.deliveries).toEqual([
        expect.objectContaining({ channelId: hook, kind: 'webhook', result: 'delivered', attempts: 1 }),
      ]);
    }
  });

  it('`forSeconds` is honoured: a shorter condition notifies nothing, a longer one fires only after it', async () => {
    const hook = await webhook('/for');
    const ruleId = await streamsRule([hook], { forSeconds: 1.5 });

    const brief = await openStream();
    await sleep(3 * SNAPSHOT_MS);
    const live = (await admin<Array<{ ruleId: string; state: string }>>('GET', '/active')).body;
    expect(live).toContainEqual(expect.objectContaining({ ruleId, state: 'pending' }));
    brief.close();
    await sleep(1_500 + 3 * SNAPSHOT_MS);
    expect(http.to('/for')).toHaveLength(0);
    expect(await history(ruleId)).toHaveLength(0);

    const opened = Date.now();
    const stream = await openStream();
    const [firing] = await http.waitFor('/for', 1, 5_000);
    expect(firing.at - opened).toBeGreaterThanOrEqual(1_500);
    expect((firing.json as Notification).status).toBe('firing');
    stream.close();
    await http.waitFor('/for', 2);
  });

  it('cooldown: a new firing inside cooldownSeconds is recorded but not sent; every resolve is sent', async () => {
    const hook = await webhook('/cooldown');
    const ruleId = await streamsRule([hook], { cooldownSeconds: 3 });
    const statuses = () => http.to('/cooldown').map((r) => (r.json as Notification).status);

    let stream = await openStream();
    const [first] = await http.waitFor('/cooldown', 1);
    stream.close();
    await http.waitFor('/cooldown', 2);

    // Fires again within the cooldown: kept in history, not notified.
    stream = await openStream();
    const suppressed = await waitForHistory(history, ruleId, 3);
    expect(suppressed[0]).toMatchObject({ status: 'firing', notified: false, deliveries: [] });
    stream.close();
    await http.waitFor('/cooldown', 3);
    expect(statuses()).toEqual(['firing', 'resolved', 'resolved']);

    // Once the cooldown has passed since the last firing notification, firing is sent again.
    await sleep(Math.max(0, first.at + 3_000 - Date.now()));
    stream = await openStream();
    await http.waitFor('/cooldown', 4);
    expect(statuses()).toEqual(['firing', 'resolved', 'resolved', 'firing']);
    stream.close();
  });

  it('one rule wired to Slack, email and a webhook: each receiver gets the firing and the resolve', async () => {
    const slack = await channel({ name: 'slack', kind: 'slack', url: http.url('/services/T1/B2/slacktoken') });
    const email = await channel({
      name: 'mail',
      kind: 'email',
      smtpUrl: `smtp://${SMTP_USER}:${SMTP_PASSWORD}@127.0.0.1:${smtp.port}`,
      from: 'herald@example.com',
      to: ['oncall@example.com', 'lead@example.com'],
    });
    const hook = await webhook('/all', SECRET);
    const ruleId = await streamsRule([slack, email, hook], { name: 'Listeners present', threshold: 2, op: '>=' });

    const streams = [await openStream(), await openStream()];
    const [slackFiring] = await http.waitFor('/services/T1/B2/slacktoken', 1);
    const [mailFiring] = await smtp.waitFor(1);
    await http.waitFor('/all', 1);

    const slackBody = slackFiring.json as { text: string; blocks: Array<{ type: string }> };
    expect(slackBody.text).toContain('FIRING [critical] Listeners present');
    expect(slackBody.text).toContain('active_connections = 2 (&gt;= 2)');
    expect(slackBody.blocks.map((block) => block.type)).toEqual(['section', 'section', 'context']);
    expect(JSON.stringify(slackBody.blocks)).toContain(`${hostname()}:${herald.port}`);

    expect(mailFiring.user).toBe(SMTP_USER);
    expect(mailFiring.from).toBe('herald@example.com');
    expect(mailFiring.to).toEqual(['oncall@example.com', 'lead@example.com']);
    expect(mailFiring.subject).toBe('[Herald] FIRING [critical] Listeners present: active_connections = 2 (>= 2)');
    for (const line of [
      'Status: firing',
      `Rule: Listeners present (${ruleId})`,
      'Severity: critical',
      'Metric: active_connections',
      'Value: 2',
      'Threshold: >= 2',
      `Instance: ${hostname()}:${herald.port}`,
    ]) {
      expect(mailFiring.text).toContain(line);
    }

    streams[0].close();
    const [, slackResolved] = await http.waitFor('/services/T1/B2/slacktoken', 2);
    const [, mailResolved] = await smtp.waitFor(2);
    expect((slackResolved.json as { text: string }).text).toContain('RESOLVED [critical] Listeners present');
    expect(mailResolved.subject).toContain('RESOLVED [critical] Listeners present: active_connections = 1');
    expect(mailResolved.text).toMatch(/Resolved: \d{4}-\d\d-\d\dT/);
    const [, hookResolved] = await http.waitFor('/all', 2);
    verifySignature(hookResolved, SECRET);
    streams[1].close();
  });

  it('a hanging channel and a failing one hold up neither the others nor the event path; retries are observed and failures recorded', async () => {
    http.on('/hang', 'hang').on('/fail', 500).on('/gone', 410);
    const ok = await webhook('/ok');
    const okSlack = await channel({ name: 'slack ok', kind: 'slack', url: http.url('/slack-ok') });
    const hang = await webhook('/hang');
    const fail = await webhook('/fail');
    const gone = await webhook('/gone');
    const metricsBefore = await notificationCounts(herald);
    const ruleId = await streamsRule([hang, fail, gone, ok, okSlack]);

    const listener = await openStream('traffic');
    const [firingEntry] = await waitForHistory(history, ruleId, 1);
    const firedAt = Date.parse(firingEntry.at);
    const [okRequest] = await http.waitFor('/ok', 1);
    const [slackRequest] = await http.waitFor('/slack-ok', 1);
    // On time: well before the hanging channel's first attempt even times out.
    expect(okRequest.at - firedAt).toBeLessThan(SEND_TIMEOUT_MS);
    expect(slackRequest.at - firedAt).toBeLessThan(SEND_TIMEOUT_MS);

    // The event path is untouched while the hanging delivery is in flight.
    expect(http.to('/hang')).toHaveLength(1);
    const published = Date.now();
    const id = await publishOk(herald, 'traffic', { during: 'hang' });
    const [event] = await listener.waitForEvents(1);
    expect(event.id).toBe(id);
    expect(Date.now() - published).toBeLessThan(1_000);

    // 500: retried twice with backoff, same delivery id. 410: not retried. Hang: each attempt timed out.
    const failed = await http.waitFor('/fail', 3, 10_000);
    expect(new Set(failed.map((r) => r.headers['x-herald-delivery'])).size).toBe(1);
    expect(failed[1].at - failed[0].at).toBeGreaterThanOrEqual(350);
    expect(failed[2].at - failed[1].at).toBeGreaterThanOrEqual(700);
    await http.waitFor('/hang', 3, 3 * SEND_TIMEOUT_MS + 5_000);
    const deliveries = await waitForDeliveries(history, ruleId);
    const byChannel = new Map(deliveries.map((d) => [d.channelId, d]));
    expect(byChannel.get(ok)).toMatchObject({ result: 'delivered', attempts: 1 });
    expect(byChannel.get(okSlack)).toMatchObject({ result: 'delivered', attempts: 1, kind: 'slack' });
    expect(byChannel.get(fail)).toMatchObject({ result: 'failed', attempts: 3, error: 'HTTP 500' });
    expect(byChannel.get(gone)).toMatchObject({ result: 'failed', attempts: 1, error: 'HTTP 410' });
    expect(byChannel.get(hang)).toMatchObject({
      result: 'failed',
      attempts: 3,
      error: `timed out after ${SEND_TIMEOUT_MS} ms`,
    });
    expect(byChannel.get(hang)?.durationMs).toBeGreaterThanOrEqual(3 * SEND_TIMEOUT_MS);
    expect(byChannel.get(ok)?.durationMs).toBeLessThan(SEND_TIMEOUT_MS);
    expect(http.to('/gone')).toHaveLength(1);

    // Counted in /metrics.
    const metricsAfter = await notificationCounts(herald);
    expect(metricsAfter['webhook/failed'] - (metricsBefore['webhook/failed'] ?? 0)).toBe(3);
    expect(metricsAfter['webhook/delivered'] - (metricsBefore['webhook/delivered'] ?? 0)).toBe(1);
    expect(metricsAfter['slack/delivered'] - (metricsBefore['slack/delivered'] ?? 0)).toBe(1);
    listener.close();
  });

  it('POST /channels/{id}/test sends a "test" notification (200), and answers 502 naming the failure', async () => {
    const hook = await webhook('/test-hook', SECRET);
    const answer = await admin<HistoryEntry>('POST', `/channels/${hook}/test`);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: 'test', deliveries: [{ result: 'delivered', attempts: 1 }] });
    const [received] = await http.waitFor('/test-hook', 1);
    verifySignature(received, SECRET);
    expect(received.json).toMatchObject({
      status: 'test',
      rule: { id: 'test', metric: 'active_connections' },
      severity: 'info',
      instance: `${hostname()}:${herald.port}`,
    });

    const mail = await channel({
      name: 'wrong password',
      kind: 'email',
      smtpUrl: `smtp://${SMTP_USER}:not-the-password@127.0.0.1:${smtp.port}`,
      from: 'herald@example.com',
      to: ['oncall@example.com'],
    });
    const refused = await admin<{ message: string }>('POST', `/channels/${mail}/test`);
    expect(refused.status).toBe(502);
    expect(refused.body.message).toMatch(/failed after 1 attempt\(s\): Invalid login/);
    expect(refused.body.message).not.toContain('not-the-password');
    const tests = (await admin<HistoryEntry[]>('GET', '/history?ruleId=test')).body;
    expect(tests[0]).toMatchObject({ status: 'test', deliveries: [{ channelId: mail, result: 'failed' }] });
  });

  it('wrote no secret to the logs, while it did log the failed deliveries', () => {
    const logs = herald.logs.join('\n');
    expect(logs).toContain('alert delivery failed');
    for (const secret of [SECRET, SMTP_PASSWORD, 'not-the-password', 'slacktoken']) expect(logs).not.toContain(secret);
  });
});

async function waitForHistory(
  history: (ruleId: string) => Promise<HistoryEntry[]>,
  ruleId: string,
  count: number,
): Promise<HistoryEntry[]> {
  return eventually(
    async () => {
      const entries = await history(ruleId);
      return entries.length >= count && entries;
    },
    100 * (SNAPSHOT_MS / 2),
    `history of ${ruleId} to reach ${count} entries`,
    SNAPSHOT_MS / 2,
  );
}

/** The firing entry's deliveries once none is pending any more. */
async function waitForDeliveries(
  history: (ruleId: string) => Promise<HistoryEntry[]>,
  ruleId: string,
): Promise<Delivery[]> {
  return eventually(
    async () => {
      const firing = (await history(ruleId)).find((entry) => entry.status === 'firing');
      return firing?.deliveries.every((delivery) => delivery.result !== 'pending') && firing.deliveries;
    },
    100 * SNAPSHOT_MS,
    'the deliveries to settle',
    SNAPSHOT_MS,
  );
}

/** `herald_alert_notifications_total` from /metrics, by `kind/result`. */
async function notificationCounts(herald: RunningHerald): Promise<Record<string, number>> {
  const text = (await request<string>(`${herald.url}/metrics`)).body;
  const counts: Record<string, number> = {};
  for (const match of String(text).matchAll(
    /^herald_alert_notifications_total\{channel_kind="([^"]+)",result="([^"]+)"\} (\d+)$/gm,
  )) {
    counts[`${match[1]}/${match[2]}`] = Number(match[3]);
  }
  return counts;
}
