import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config/herald-config.js';
import { createHerald } from '../src/herald.js';
import { JsonLogger } from '../src/logging/json-logger.js';
import { HttpReceiver } from './support/alert-receivers.js';
import {
  ADMIN_TOKEN,
  PUBLISH_TOKEN,
  request,
  startHerald,
  type HttpAnswer,
  type RunningHerald,
} from './support/herald.js';

const WEBHOOK_SECRET = 'whsec-do-not-leak-7f3a9c';
const SMTP_PASSWORD = 'smtp-pw-do-not-leak-41b2';
const SLACK_PATH = '/services/T0DONOTLEAK/B0DONOTLEAK/xoxDoNotLeak91';
const SECRETS = [WEBHOOK_SECRET, SMTP_PASSWORD, SLACK_PATH, 'T0DONOTLEAK', 'xoxDoNotLeak91'];

interface Channel {
  id: string;
  name: string;
  kind: string;
  enabled: boolean;
  url?: string;
  secret?: string;
  smtpUrl?: string;
  from?: string;
  to?: string[];
}
interface Rule {
  id: string;
  name: string;
  metric: string;
  op: string;
  threshold: number;
  forSeconds: number;
  severity: string;
  cooldownSeconds: number;
  channels: string[];
  enabled: boolean;
}
interface ErrorBody {
  statusCode: number;
  message: string | string[];
}

function admin<T>(herald: RunningHerald, method: string, path: string, json?: unknown, token = ADMIN_TOKEN) {
  return request<T>(`${herald.url}/v1/admin/alerts${path}`, {
    method,
    headers: { authorization: `Bearer ${token}` },
    json,
  });
}

/** Every response body of this suite, to search for secrets at the end. */
const answers: string[] = [];
async function record<T>(answer: Promise<HttpAnswer<T>>): Promise<HttpAnswer<T>> {
  const settled = await answer;
  answers.push(JSON.stringify(settled.body));
  return settled;
}

function messages(body: unknown): string {
  const { message } = body as ErrorBody;
  return Array.isArray(message) ? message.join(' | ') : String(message);
}

const rule = (overrides: Partial<Rule> = {}): Partial<Rule> => ({
  name: 'Too many streams',
  metric: 'active_connections',
  op: '>=',
  threshold: 100,
  forSeconds: 0,
  severity: 'warning',
  cooldownSeconds: 60,
  channels: [],
  ...overrides,
});

describe('Alerts: the admin API, its validation and the configuration store', () => {
  let dir: string;
  let storePath: string;
  let herald: RunningHerald;
  let receiver: HttpReceiver;
  const call = <T>(method: string, path: string, json?: unknown) => record(admin<T>(herald, method, path, json));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'herald-alerts-'));
    storePath = join(dir, 'nested', 'alerts.json');
    receiver = await new HttpReceiver().start();
    // debug: every log line the module can write is captured, to search for secrets.
    herald = await startHerald({ ALERTS_STORE_PATH: storePath, LOG_LEVEL: 'debug' });
  });
  afterAll(async () => {
    await herald.close();
    await receiver.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers 401 on every alerts route without the admin token or with a wrong one', async () => {
    const routes: Array<[string, string]> = [
      ['GET', '/channels'],
      ['POST', '/channels'],
      ['GET', '/channels/log'],
      ['PUT', '/channels/log'],
      ['DELETE', '/channels/log'],
      ['POST', '/channels/log/test'],
      ['GET', '/rules'],
      ['POST', '/rules'],
      ['GET', '/rules/capacity-high'],
      ['PUT', '/rules/capacity-high'],
      ['DELETE', '/rules/capacity-high'],
      ['GET', '/history'],
      ['GET', '/active'],
    ];
    for (const [method, path] of routes) {
      const body = method === 'GET' ? undefined : {};
      const missing = await request(`${herald.url}/v1/admin/alerts${path}`, { method, json: body });
      const wrong = await admin(herald, method, path, body, PUBLISH_TOKEN);
      expect([method, path, missing.status, wrong.status]).toEqual([method, path, 401, 401]);
    }
    // Nothing was deleted by the refused requests.
    expect((await call('GET', '/channels/log')).status).toBe(200);
  });

  it('writes the built-in rules and a log channel to the store on the first start', async () => {
    const stored = JSON.parse(await readFile(storePath, 'utf8'));
    expect(stored.version).toBe(1);
    expect(stored.channels).toEqual([{ id: 'log', name: 'Herald log', kind: 'log', enabled: true }]);
    const rules = (await call<Rule[]>('GET', '/rules')).body;
    expect(rules.map((r) => [r.id, r.metric, r.op, r.threshold, r.channels])).toEqual([
      ['capacity-high', 'capacity_ratio', '>=', 0.9, ['log']],
      ['memory-leak-suspected', 'memory_leak_suspected', '>=', 1, ['log']],
      ['event-loop-lag-high', 'event_loop_lag_p99_ms', '>=', 200, ['log']],
    ]);
    expect(stored.rules).toEqual(rules);
    // The operator may change a built-in rule like any other.
    const edited = await call<Rule>('PUT', '/rules/capacity-high', { ...rules[0], threshold: 0.8 });
    expect(edited.status).toBe(200);
    expect(edited.body.threshold).toBe(0.8);
    expect((await call<Rule>('GET', '/rules/capacity-high')).body.threshold).toBe(0.8);
  });

  it('creates (201), reads, replaces and deletes channels and rules; unknown ids are 404', async () => {
    const created = await call<Channel>('POST', '/channels', {
      name: 'ops hook',
      kind: 'webhook',
      url: receiver.url('/a'),
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: 'ops hook',
      kind: 'webhook',
      enabled: true,
      url: receiver.url('/a'),
    });
    const id = created.body.id;
    expect((await call<Channel[]>('GET', '/channels')).body.map((c) => c.id)).toContain(id);
    expect((await call<Channel>('GET', `/channels/${id}`)).body).toEqual(created.body);

    const replaced = await call<Channel>('PUT', `/channels/${id}`, {
      name: 'ops hook 2',
      kind: 'webhook',
      url: receiver.url('/b'),
      enabled: false,
    });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toEqual({ id, name: 'ops hook 2', kind: 'webhook', enabled: false, url: receiver.url('/b') });

    const newRule = await call<Rule>('POST', '/rules', rule({ channels: [id], id: 'too-many-streams' }));
    expect(newRule.status).toBe(201);
    expect(newRule.body).toEqual({ ...rule({ channels: [id] }), id: 'too-many-streams', enabled: true });
    const taken = await call('POST', '/rules', rule({ id: 'too-many-streams' }));
    expect(taken.status).toBe(409);

    // A rule body may leave out what has a sensible default.
    const minimal = await call<Rule>('POST', '/rules', { name: 'm', metric: 'rss_mb', op: '>', threshold: 900 });
    expect(minimal.status).toBe(201);
    expect(minimal.body).toMatchObject({ forSeconds: 0, severity: 'warning', cooldownSeconds: 300, channels: [] });

    const changed = await call<Rule>('PUT', '/rules/too-many-streams', {
      ...newRule.body,
      threshold: 5,
      severity: 'critical',
    });
    expect(changed.body).toMatchObject({ id: 'too-many-streams', threshold: 5, severity: 'critical', channels: [id] });

    // A channel in use cannot go; the rule that uses it is named.
    const inUse = await call('DELETE', `/channels/${id}`);
    expect(inUse.status).toBe(409);
    expect(messages(inUse.body)).toContain('too-many-streams');

    expect((await call('DELETE', '/rules/too-many-streams')).status).toBe(204);
    expect((await call('DELETE', `/rules/${minimal.body.id}`)).status).toBe(204);
    expect((await call('DELETE', `/channels/${id}`)).status).toBe(204);

    for (const [method, path, body] of [
      ['GET', `/channels/${id}`],
      ['PUT', `/channels/${id}`, { name: 'x', kind: 'log' }],
      ['DELETE', `/channels/${id}`],
      ['POST', `/channels/${id}/test`],
      ['GET', '/rules/too-many-streams'],
      ['PUT', '/rules/too-many-streams', rule()],
      ['DELETE', '/rules/too-many-streams'],
    ] as Array<[string, string, unknown?]>) {
      const answer = await call(method, path, body);
      expect([method, path, answer.status]).toEqual([method, path, 404]);
      expect(answer.body).toMatchObject({ statusCode: 404, error: 'Not Found' });
    }
  });

  it.each([
    ['an unknown channel kind', '/channels', { name: 'x', kind: 'pager' }, 'kind'],
    ['a channel without a kind', '/channels', { name: 'x' }, 'kind'],
    ['a body that is not an object', '/channels', ['log'], 'body'],
    ['a webhook URL that is no URL', '/channels', { name: 'x', kind: 'webhook', url: 'not a url' }, 'url'],
    ['a webhook URL of another scheme', '/channels', { name: 'x', kind: 'webhook', url: 'ftp://h/x' }, 'url'],
    ['a Slack channel without url', '/channels', { name: 'x', kind: 'slack' }, 'url'],
    [
      'an SMTP URL of another scheme',
      '/channels',
      { name: 'x', kind: 'email', smtpUrl: 'http://h', from: 'a@example.com', to: ['b@example.com'] },
      'smtpUrl',
    ],
    [
      'a recipient that is no address',
      '/channels',
      { name: 'x', kind: 'email', smtpUrl: 'smtp://h:25', from: 'a@example.com', to: ['nobody'] },
      'to',
    ],
    ['an empty name', '/channels', { name: '', kind: 'log' }, 'name'],
    ['a setting another kind has', '/channels', { name: 'x', kind: 'log', url: 'http://h/x' }, 'url'],
    ['a negative threshold', '/rules', rule({ threshold: -1 }), 'threshold'],
    ['a threshold that is a string', '/rules', rule({ threshold: '5' as unknown as number }), 'threshold'],
    ['an unknown metric', '/rules', rule({ metric: 'cpu_percent' }), 'metric'],
    ['an unknown comparison', '/rules', rule({ op: '==' }), 'op'],
    ['a negative forSeconds', '/rules', rule({ forSeconds: -5 }), 'forSeconds'],
    ['a negative cooldownSeconds', '/rules', rule({ cooldownSeconds: -1 }), 'cooldownSeconds'],
    ['an unknown severity', '/rules', rule({ severity: 'page' }), 'severity'],
    ['a channel id that does not exist', '/rules', rule({ channels: ['nope'] }), 'channels[0]'],
    ['an unknown property', '/rules', { ...rule(), colour: 'red' }, 'colour'],
    ['a malformed id', '/rules', rule({ id: 'has space' }), 'id'],
  ])('answers 400 naming the field for %s', async (_what, path, body, field) => {
    const answer = await call('POST', path, body);
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    expect(messages(answer.body)).toContain(field);
  });

  it('masks secrets in every response, and a replace keeps a secret left out or sent back masked', async () => {
    const webhook = await call<Channel>('POST', '/channels', {
      name: 'signed',
      kind: 'webhook',
      url: receiver.url('/signed'),
      secret: WEBHOOK_SECRET,
    });
    const slack = await call<Channel>('POST', '/channels', {
      name: 'slack',
      kind: 'slack',
      url: `https://hooks.slack.example${SLACK_PATH}`,
    });
    const email = await call<Channel>('POST', '/channels', {
      name: 'mail',
      kind: 'email',
      smtpUrl: `smtp://alerts:${SMTP_PASSWORD}@127.0.0.1:2525`,
      from: 'herald@example.com',
      to: ['oncall@example.com'],
    });
    expect([webhook.status, slack.status, email.status]).toEqual([201, 201, 201]);
    expect(webhook.body.secret).toBe('********');
    expect(slack.body.url).toBe('https://hooks.slack.example/********');
    expect(email.body.smtpUrl).toBe('smtp://alerts:********@127.0.0.1:2525');

    // A GET → edit → PUT round trip sends the masks back: the secrets stay as they were.
    const fetched = (await call<Channel>('GET', `/channels/${webhook.body.id}`)).body;
    const renamed = await call<Channel>('PUT', `/channels/${webhook.body.id}`, { ...fetched, name: 'signed 2' });
    expect(renamed.body).toMatchObject({ name: 'signed 2', secret: '********' });
    const { secret: _left, ...withoutSecret } = fetched;
    await call('PUT', `/channels/${webhook.body.id}`, { ...withoutSecret, name: 'signed 3' });
    await call('PUT', `/channels/${slack.body.id}`, { ...slack.body, name: 'slack 2' });
    await call('PUT', `/channels/${email.body.id}`, { ...email.body, smtpUrl: 'smtp://alerts@127.0.0.1:2525' });

    const stored = JSON.parse(await readFile(storePath, 'utf8')) as { channels: Channel[] };
    const byId = (id: string) => stored.channels.find((c) => c.id === id) as Channel;
    expect(byId(webhook.body.id)).toMatchObject({ name: 'signed 3', secret: WEBHOOK_SECRET });
    expect(byId(slack.body.id)).toMatchObject({ name: 'slack 2', url: `https://hooks.slack.example${SLACK_PATH}` });
    expect(byId(email.body.id).smtpUrl).toBe(`smtp://alerts:${SMTP_PASSWORD}@127.0.0.1:2525`);

    // The kept secret is the one that signs: a test delivery verifies with the original.
    const test = await call<{ status: string }>('POST', `/channels/${webhook.body.id}/test`);
    expect(test.status).toBe(200);
    const [delivery] = await receiver.waitFor('/signed', 1);
    const timestamp = String(delivery.headers['x-herald-timestamp']);
    const expected = createHmac('sha256', WEBHOOK_SECRET).update(`${timestamp}.${delivery.body}`).digest('hex');
    expect(delivery.headers['x-herald-signature']).toBe(`sha256=${expected}`);

    // `"secret": null` removes it: deliveries are no longer signed.
    const unsigned = await call<Channel>('PUT', `/channels/${webhook.body.id}`, { ...withoutSecret, secret: null });
    expect(unsigned.body.secret).toBeUndefined();
    await call('POST', `/channels/${webhook.body.id}/test`);
    const [, second] = await receiver.waitFor('/signed', 2);
    expect(second.headers['x-herald-signature']).toBeUndefined();

    for (const path of ['/channels', '/history']) await call('GET', path);
    for (const id of [webhook.body.id, slack.body.id, email.body.id]) await call('DELETE', `/channels/${id}`);
  });

  it('serializes concurrent writes: 50 parallel creates give 50 channels, in memory and in the file', async () => {
    const before = JSON.parse(await readFile(storePath, 'utf8')) as { revision: number; channels: Channel[] };
    const creates = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        admin<Channel>(herald, 'POST', '/channels', { name: `parallel-${i}`, kind: 'log' }),
      ),
    );
    expect(creates.map((answer) => answer.status)).toEqual(Array(50).fill(201));
    const names = (await call<Channel[]>('GET', '/channels')).body.map((c) => c.name);
    const stored = JSON.parse(await readFile(storePath, 'utf8')) as { revision: number; channels: Channel[] };
    for (let i = 0; i < 50; i++) {
      expect(names).toContain(`parallel-${i}`);
      expect(stored.channels.map((c) => c.name)).toContain(`parallel-${i}`);
    }
    expect(stored.channels).toHaveLength(before.channels.length + 50);
    expect(stored.revision).toBe(before.revision + 50);

    // Parallel replaces of one rule and deletes of the channels: none is lost either.
    await Promise.all(creates.map((answer) => admin(herald, 'DELETE', `/channels/${answer.body.id}`)));
    const after = JSON.parse(await readFile(storePath, 'utf8')) as { channels: Channel[] };
    expect(after.channels).toHaveLength(before.channels.length);
  });

  it('never lets a secret reach a response body or a log line', () => {
    expect(answers.length).toBeGreaterThan(50);
    const everything = answers.join('\n') + '\n' + herald.logs.join('\n');
    for (const secret of SECRETS) expect(everything).not.toContain(secret);
    // The logs are there to search: debug lines of the alerts module were captured.
    expect(herald.logs.length).toBeGreaterThan(0);
  });
});

describe('Alerts: the configuration survives restarts; a damaged store stops start-up', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'herald-alerts-restart-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('keeps channels (with their secrets) and rules across a restart with the same store path', async () => {
    const storePath = join(dir, 'alerts.json');
    const receiver = await new HttpReceiver().start();
    const first = await startHerald({ ALERTS_STORE_PATH: storePath });
    const channel = await admin<Channel>(first, 'POST', '/channels', {
      name: 'kept',
      kind: 'webhook',
      url: receiver.url('/kept'),
      secret: WEBHOOK_SECRET,
    });
    const created = await admin<Rule>(first, 'POST', '/rules', rule({ channels: [channel.body.id] }));
    await admin(first, 'DELETE', '/rules/memory-leak-suspected');
    const channelsBefore = (await admin<Channel[]>(first, 'GET', '/channels')).body;
    const rulesBefore = (await admin<Rule[]>(first, 'GET', '/rules')).body;
    await first.close();

    const second = await startHerald({ ALERTS_STORE_PATH: storePath });
    try {
      expect((await admin<Channel[]>(second, 'GET', '/channels')).body).toEqual(channelsBefore);
      expect((await admin<Rule[]>(second, 'GET', '/rules')).body).toEqual(rulesBefore);
      expect(rulesBefore.map((r) => r.id)).toContain(created.body.id);
      // A deleted built-in rule stays deleted: defaults are written only on the very first start.
      expect(rulesBefore.map((r) => r.id)).not.toContain('memory-leak-suspected');
      // The secret came back too: the restarted instance signs with it.
      expect((await admin(second, 'POST', `/channels/${channel.body.id}/test`)).status).toBe(200);
      const [delivery] = await receiver.waitFor('/kept', 1);
      const timestamp = String(delivery.headers['x-herald-timestamp']);
      const expected = createHmac('sha256', WEBHOOK_SECRET).update(`${timestamp}.${delivery.body}`).digest('hex');
      expect(delivery.headers['x-herald-signature']).toBe(`sha256=${expected}`);
    } finally {
      await second.close();
      await receiver.close();
    }
  });

  it('refuses to start on a store file cut short mid-JSON, naming the file, and leaves the file as it was', async () => {
    const storePath = join(dir, 'truncated.json');
    const herald = await startHerald({ ALERTS_STORE_PATH: storePath });
    await admin(herald, 'POST', '/channels', { name: 'precious', kind: 'log' });
    await herald.close();
    const whole = await readFile(storePath, 'utf8');
    const truncated = whole.slice(0, Math.floor(whole.length / 2));
    await writeFile(storePath, truncated);

    const config = loadConfig({ ADMIN_TOKEN, ALERTS_STORE_PATH: storePath, LOG_LEVEL: 'error' });
    const app = await createHerald(config, { logger: new JsonLogger('error', () => undefined) });
    try {
      await expect(app.listen(0, '127.0.0.1')).rejects.toThrow(
        new RegExp(`alerts store ${storePath.replace(/[.]/g, '\\.')} is not valid JSON`),
      );
    } finally {
      await app.close();
    }
    // Not silently replaced by the defaults: the operator can still repair it.
    expect(await readFile(storePath, 'utf8')).toBe(truncated);
  });

  it('refuses to start on a store that is valid JSON but not a valid configuration, naming the field', async () => {
    const storePath = join(dir, 'invalid.json');
    await writeFile(
      storePath,
      JSON.stringify({
        version: 1,
        revision: 3,
        channels: [],
        rules: [{ ...rule(), id: 'r1', threshold: -2 }],
      }),
    );
    const config = loadConfig({ ADMIN_TOKEN, ALERTS_STORE_PATH: storePath, LOG_LEVEL: 'error' });
    const app = await createHerald(config, { logger: new JsonLogger('error', () => undefined) });
    try {
      await expect(app.listen(0, '127.0.0.1')).rejects.toThrow(/holds no valid configuration: rules\[0\]: threshold/);
    } finally {
      await app.close();
    }
  });

  it('a process killed in the middle of writing leaves the previous or the next file, never a broken one', async () => {
    const storeModule = new URL('../dist/src/store/file-document.store.js', import.meta.url).href;
    expect(existsSync(fileURLToPath(storeModule))).toBe(true);
    const storePath = join(dir, 'killed', 'alerts.json');
    // Saves documents of two very different sizes back to back, as fast as it can, until killed.
    const writer = `
      const { FileDocumentStore } = await import(${JSON.stringify(storeModule)});
      const store = new FileDocumentStore('alerts store', ${JSON.stringify(storePath)});
      const doc = (revision, count) => ({ version: 1, revision, rules: [], channels: Array.from({ length: count },
        (_, i) => ({ id: 'c' + i, name: 'x'.repeat(500), kind: 'log', enabled: true })) });
      for (let revision = 1; ; revision++) {
        await store.save(doc(revision, revision % 2 ? 2000 : 3));
        if (revision === 2) process.stdout.write('writing\\n');
      }`;
    for (let round = 0; round < 5; round++) {
      const child = spawn(process.execPath, ['--input-type=module', '-e', writer]);
      await new Promise<void>((resolve, reject) => {
        child.stdout.once('data', () => resolve());
        child.once('exit', (code) => reject(new Error(`the writer exited early (${code})`)));
      });
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 200));
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      const stored = JSON.parse(await readFile(storePath, 'utf8')) as { revision: number; channels: unknown[] };
      expect(stored.channels).toHaveLength(stored.revision % 2 ? 2000 : 3);
    }
  });

  const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
  it('the built server exits with code 1 and a first stderr line naming the damaged file', async () => {
    expect(existsSync(main)).toBe(true);
    const storePath = join(dir, 'cut.json');
    await writeFile(storePath, '{"version":1,"revision":2,"channels":[{"id":"log","na');
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [main], {
        env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', ALERTS_STORE_PATH: storePath },
      });
      let stderr = '';
      // A server that starts despite the damaged file would never exit by itself.
      const deadline = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.stderr.on('data', (chunk) => (stderr += chunk));
      child.on('exit', (code) => {
        clearTimeout(deadline);
        resolve({ code, stderr });
      });
    });
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n')[0]).toContain(`alerts store ${storePath} is not valid JSON`);
  });
});
