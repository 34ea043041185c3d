import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as http2Connect, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { SseParser, type ParsedEvent } from '../libs/sse/src/parser.js';
import { loadConfig } from '../src/config/herald-config.js';
import { HeraldChild } from './support/herald-child.js';
import { ADMIN_TOKEN, PUBLISH_TOKEN, eventually, request, sleep } from './support/herald.js';
import { describeWith, which } from './support/services.js';
import { RawSseClient } from './support/raw-sse.js';

const NGINX = which('nginx');
const OPENSSL = which('openssl');
const CONF = fileURLToPath(new URL('../deploy/nginx/herald.conf', import.meta.url));
const PROMETHEUS_CONF = fileURLToPath(new URL('../deploy/prometheus/prometheus.yml', import.meta.url));
const PROMETHEUS = which('prometheus');
const METRICS_TOKEN = 'test-metrics-token-0123456789';

/** One HTTP/2 request through nginx's public side: status, content type and body. */
function http2Get(
  session: ClientHttp2Session,
  path: string,
  method = 'GET',
  body?: string,
): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ':path': path, ':method': method };
    if (body !== undefined) headers['content-type'] = 'application/json';
    headers.authorization = `Bearer ${METRICS_TOKEN}`;
    const stream = session.request(headers);
    let text = '';
    let status = 0;
    let type = '';
    stream.setEncoding('utf8');
    stream.on('response', (answer) => {
      status = Number(answer[':status']);
      type = String(answer['content-type'] ?? '');
    });
    stream.on('data', (chunk: string) => (text += chunk));
    stream.on('end', () => resolve({ status, type, body: text }));
    stream.on('error', reject);
    stream.end(body);
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address ? address.port : 0;
}

/** Replaces `from` in `text`, which must occur exactly `times` times (the shipped config changed otherwise). */
function replaceExactly(text: string, from: string, to: string, times = 1): string {
  const found = text.split(from).length - 1;
  if (found !== times) throw new Error(`deploy/nginx/herald.conf: expected ${times} × "${from}", found ${found}`);
  return text.split(from).join(to);
}

/** One event stream through nginx over HTTP/2, as a browser holds it. */
class Http2Stream {
  readonly events: { event: ParsedEvent; at: number }[] = [];
  readonly retries: number[] = [];
  headers: IncomingHttpHeaders = {};
  ended = false;
  private readonly parser = new SseParser();

  constructor(session: ClientHttp2Session, path: string, extraHeaders: Record<string, string> = {}) {
    const stream = session.request({ ':path': path, accept: 'text/event-stream', ...extraHeaders });
    stream.setEncoding('utf8');
    stream.on('response', (headers) => (this.headers = headers));
    stream.on('data', (text: string) => {
      const parsed = this.parser.feed(text);
      const at = Date.now();
      for (const event of parsed.events) this.events.push({ event, at });
      this.retries.push(...parsed.retries);
    });
    stream.on('end', () => (this.ended = true));
    stream.on('error', () => (this.ended = true));
  }
}

describeWith(NGINX !== undefined && OPENSSL !== undefined, 'nginx and openssl (apt-get install nginx-light openssl)')(
  'Herald behind nginx (deploy/nginx/herald.conf)',
  () => {
    let dir: string;
    let nginx: ChildProcess;
    let herald: HeraldChild;
    let tlsPort: number;
    let internalPort: number;
    let nginxLog = '';
    let ca: Buffer;
    const sessions: ClientHttp2Session[] = [];

    const session = (localAddress = '127.0.0.1'): ClientHttp2Session => {
      const opened = http2Connect(`https://127.0.0.1:${tlsPort}`, {
        createConnection: () =>
          tlsConnect({
            socket: netConnect({ host: '127.0.0.1', port: tlsPort, localAddress }),
            ca,
            servername: 'localhost',
            ALPNProtocols: ['h2'],
          }),
      });
      opened.on('error', () => undefined);
      sessions.push(opened);
      return opened;
    };

    beforeAll(async () => {
      herald = await HeraldChild.start({
        METRICS_TOKEN,
        TRUST_PROXY: 'true',
        DRAIN_TIMEOUT_MS: '5000',
        HEARTBEAT_INTERVAL_MS: '60000',
      });
      dir = mkdtempSync(join(tmpdir(), 'herald-nginx-'));
      execFileSync(OPENSSL as string, [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout', join(dir, 'herald.key'), '-out', join(dir, 'herald.crt'),
    ], { stdio: 'ignore' }); // prettier-ignore
      ca = readFileSync(join(dir, 'herald.crt'));
      tlsPort = await freePort();
      const httpPort = await freePort();
      internalPort = await freePort();

      let conf = readFileSync(CONF, 'utf8');
      conf = replaceExactly(conf, 'server 127.0.0.1:3000', `server 127.0.0.1:${herald.port}`);
      conf = replaceExactly(conf, 'listen 80;', `listen 127.0.0.1:${httpPort};`);
      conf = replaceExactly(conf, 'listen [::]:80;', '');
      conf = replaceExactly(conf, 'listen 443 ssl http2;', `listen 127.0.0.1:${tlsPort} ssl http2;`);
      conf = replaceExactly(conf, 'listen [::]:443 ssl http2;', '');
      conf = replaceExactly(conf, '/etc/nginx/tls/', `${dir}/`, 2);
      conf = replaceExactly(conf, 'listen 127.0.0.1:8080;', `listen 127.0.0.1:${internalPort};`);
      writeFileSync(join(dir, 'herald.conf'), conf);
      // The shipped file goes in the http block of a minimal, unprivileged main configuration.
      writeFileSync(
        join(dir, 'nginx.conf'),
        [
          'daemon off;',
          'master_process off;',
          `pid ${dir}/nginx.pid;`,
          `error_log ${dir}/error.log warn;`,
          'events { worker_connections 1024; }',
          'http {',
          '  access_log off;',
          ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${dir}/${kind};`),
          `  include ${dir}/herald.conf;`,
          '}',
        ].join('\n'),
      );
      nginx = spawn(NGINX as string, ['-e', join(dir, 'error.log'), '-p', dir, '-c', join(dir, 'nginx.conf')], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      nginx.stderr?.on('data', (chunk: Buffer) => (nginxLog += chunk.toString()));
      await eventually(
        () => {
          if (nginx.exitCode !== null) throw new Error(`nginx exited: ${nginxLog}`);
          try {
            return readFileSync(join(dir, 'nginx.pid'), 'utf8').trim() !== '';
          } catch {
            return false;
          }
        },
        10_000,
        'nginx started',
      );
      await sleep(100);
    });

    afterAll(async () => {
      for (const opened of sessions) opened.destroy();
      nginx?.kill('SIGKILL');
      await herald?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('streams over HTTP/2 with every event arriving unbuffered, within 100 ms of its publish', async () => {
      const stream = new Http2Stream(session(), '/v1/events?topic=through-nginx');
      await eventually(() => stream.retries.length > 0, 5_000, 'the stream to start');
      expect(stream.headers[':status']).toBe(200);
      expect(String(stream.headers['content-type'])).toMatch(/^text\/event-stream/);

      // The same stream straight from Herald, for comparison.
      const direct = new RawSseClient(`${herald.url}/v1/events?topic=through-nginx`);
      await direct.waitForBody((body) => body.startsWith('retry:'));
      const delays: number[] = [];
      const directDelays: number[] = [];
      for (let n = -1; n < 5; n++) {
        const sentAt = Date.now();
        // Straight to Herald: the clock covers only the way back through nginx.
        const answer = await request<{ id: string }>(`${herald.url}/v1/topics/through-nginx/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${PUBLISH_TOKEN}` },
          json: { data: { n } },
        });
        expect(answer.status).toBe(202);
        const [viaNginx, straight] = await Promise.all([
          eventually(() => stream.events.find(({ event }) => event.id === answer.body.id), 2_000).then(() =>
            Date.now(),
          ),
          direct.waitForEvents(n + 2, 2_000).then(() => Date.now()),
        ]);
        // The first publish only warms up the publisher's connection and Herald's code paths.
        if (n >= 0) {
          delays.push(viaNginx - sentAt);
          directDelays.push(straight - sentAt);
        }
        await sleep(150);
      }
      direct.close();
      process.stderr.write(
        `[nginx] publish → event: through nginx (HTTP/2) ${delays.join(', ')} ms; straight from Herald ${directDelays.join(', ')} ms\n`,
      );
      for (const delay of delays) expect(delay).toBeLessThan(100);
      expect(stream.events.map(({ event }) => JSON.parse(event.data).n)).toEqual([-1, 0, 1, 2, 3, 4]);
    });

    it('streams over HTTPS/1.1 too, with the same bytes', async () => {
      const received: string[] = [];
      const req = httpsRequest({
        host: '127.0.0.1',
        port: tlsPort,
        path: '/v1/events?topic=h1-through-nginx',
        headers: { accept: 'text/event-stream' },
        ca,
        servername: 'localhost',
        agent: false,
      });
      const response = await new Promise<import('node:http').IncomingMessage>((resolve) =>
        req.on('response', resolve).end(),
      );
      response.setEncoding('utf8');
      response.on('data', (text: string) => received.push(text));
      await eventually(() => received.join('').includes('retry:'), 5_000, 'h1 stream start');
      const answer = await request<{ id: string }>(`${herald.url}/v1/topics/h1-through-nginx/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${PUBLISH_TOKEN}` },
        json: { data: 'over http/1.1' },
      });
      await eventually(() => received.join('').includes(`id: ${answer.body.id}\ndata: over http/1.1\n\n`), 2_000);
      expect(response.httpVersion).toBe('1.1');
      expect(response.statusCode).toBe(200);
      req.destroy();
    });

    it('passes the client address in X-Forwarded-For, overwriting one the client made up', async () => {
      const stream = new Http2Stream(session('127.0.0.7'), '/v1/events?topic=who-am-i', {
        'x-forwarded-for': '203.0.113.66',
      });
      await eventually(() => stream.retries.length > 0, 5_000, 'the stream to start');
      const listed = await request<{ ip: string; topics: string[] }[]>(`${herald.url}/v1/admin/connections`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      const mine = listed.body.find((connection) => connection.topics.includes('who-am-i'));
      expect(mine?.ip).toBe('127.0.0.7');
    });

    it('keeps idle streams open far beyond the heartbeat interval it is configured for', () => {
      const conf = readFileSync(CONF, 'utf8');
      const events = /location = \/v1\/events \{([\s\S]*?)\n {4}\}/.exec(conf)?.[1] ?? '';
      expect(events).toMatch(/proxy_buffering off;/);
      const readTimeout = /proxy_read_timeout (\d+)([smh]);/.exec(events);
      const seconds = Number(readTimeout?.[1]) * { s: 1, m: 60, h: 3600 }[readTimeout?.[2] as 's' | 'm' | 'h'];
      const heartbeatMs = loadConfig({}).heartbeatIntervalMs;
      expect(seconds * 1000).toBeGreaterThanOrEqual(4 * heartbeatMs);
    });

    it('the public side refuses /status, /metrics and the other internals (even with the token), and publishing', async () => {
      const publicSession = session();
      for (const path of [
        '/status',
        '/metrics',
        '/dashboard',
        '/docs',
        '/openapi.json',
        '/v1/admin/connections',
        '/',
      ]) {
        const answer = await http2Get(publicSession, path);
        expect({ path, status: answer.status }).toEqual({ path, status: 404 });
        expect(answer.type).toMatch(/^application\/json/);
        expect(JSON.parse(answer.body)).toEqual({
          statusCode: 404,
          error: 'Not Found',
          message: 'not served on the public side',
        });
      }
      // Publishing from outside is off unless the switch is on: one topic, and the batch on /v1/events.
      const one = await http2Get(publicSession, '/v1/topics/trucks/events', 'POST', '{"data":1}');
      expect(one.status).toBe(404);
      const batch = await http2Get(publicSession, '/v1/events', 'POST', '[{"topic":"trucks","data":1}]');
      expect(batch.status).toBe(404);
      // The browser client is public.
      expect((await http2Get(publicSession, '/client/herald.js')).status).toBe(200);
    });

    it('the internal side carries /status and /metrics (with METRICS_TOKEN) and publishing', async () => {
      const internal = `http://127.0.0.1:${internalPort}`;
      expect((await request(`${internal}/status`)).status).toBe(401);
      const status = await request<{ connections: { active: number } }>(`${internal}/status`, {
        headers: { authorization: `Bearer ${METRICS_TOKEN}` },
      });
      expect(status.status).toBe(200);
      expect(typeof status.body.connections.active).toBe('number');
      const published = await request(`${internal}/v1/topics/internal/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${PUBLISH_TOKEN}` },
        json: { data: 1 },
      });
      expect(published.status).toBe(202);
    });

    describeWith(PROMETHEUS !== undefined, 'prometheus (Debian package prometheus)')('a real Prometheus', () => {
      let prometheus: ChildProcess | undefined;
      afterAll(() => {
        prometheus?.kill('SIGKILL');
      });

      it('scrapes through the internal side with the shipped scrape config and its token file: up == 1', async () => {
        const shipped = yaml.load(readFileSync(PROMETHEUS_CONF, 'utf8')) as {
          scrape_configs: {
            job_name: string;
            authorization: { credentials_file: string };
            static_configs: { targets: string[] }[];
          }[];
        };
        const job = shipped.scrape_configs[0];
        writeFileSync(join(dir, 'metrics-token'), METRICS_TOKEN);
        job.authorization.credentials_file = join(dir, 'metrics-token');
        job.static_configs = [{ targets: [`127.0.0.1:${internalPort}`] }];
        const config = { global: { scrape_interval: '1s', evaluation_interval: '1s' }, scrape_configs: [job] };
        writeFileSync(join(dir, 'prometheus.yml'), yaml.dump(config));
        const webPort = await freePort();
        prometheus = spawn(
          PROMETHEUS as string,
          [
            `--config.file=${join(dir, 'prometheus.yml')}`,
            `--storage.tsdb.path=${join(dir, 'tsdb')}`,
            `--web.listen-address=127.0.0.1:${webPort}`,
          ],
          { stdio: 'ignore' },
        );
        const query = async (
          promql: string,
        ): Promise<{ metric: Record<string, string>; value: [number, string] }[]> => {
          const answer = await request<{
            data?: { result: { metric: Record<string, string>; value: [number, string] }[] };
          }>(`http://127.0.0.1:${webPort}/api/v1/query?query=${encodeURIComponent(promql)}`).catch(() => undefined);
          return answer?.body?.data?.result ?? [];
        };
        let up: { metric: Record<string, string>; value: [number, string] }[] = [];
        // Gives up quietly: the expectations below say what was scraped last.
        const scraped = async () => (up = await query(`up{job="${job.job_name}"}`))[0]?.value[1] === '1';
        await eventually(scraped, 30_000, 'the scrape', 500).catch(() => undefined);
        expect(up).toHaveLength(1);
        expect(up[0].value[1]).toBe('1');
        // The job label HeraldDown matches, and Herald's own series behind it.
        expect(up[0].metric.job).toBe('herald');
        expect((await query('herald_connections_max')).length).toBe(1);
      }, 45_000);
    });

    it('drains through nginx on SIGTERM: the close frame with its retry, the end of the stream, exit 0', async () => {
      const stream = new Http2Stream(session(), '/v1/events?topic=drain-through-nginx');
      await eventually(() => stream.retries.length > 0, 5_000, 'the stream to start');
      const signalledAt = Date.now();
      herald.signal('SIGTERM');
      await eventually(() => stream.ended, 3_000, 'the stream to end');
      const last = stream.events[stream.events.length - 1]?.event;
      expect(last).toMatchObject({ event: 'close', data: '{"reason":"draining"}' });
      expect(stream.retries).toHaveLength(2);
      expect(stream.retries[1]).toBeLessThan(5_000);
      const exit = await herald.exited;
      expect(exit.code).toBe(0);
      // nginx lets go of its upstream connections when Herald ends them: nobody is cut at the deadline.
      expect(exit.at - signalledAt).toBeLessThan(3_000);
      expect(herald.logged('drained')[0]).toMatchObject({ cut: 0 });
    });
  },
);
