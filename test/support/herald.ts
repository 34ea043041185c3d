import type { NestExpressApplication } from '@nestjs/platform-express';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type HeraldConfig } from '../../src/config/herald-config.js';
import { createHerald } from '../../src/herald.js';
import { JsonLogger } from '../../src/logging/json-logger.js';

import { eventually } from './poll.js';

export { eventually, sleep, until } from './poll.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';
export const PUBLISH_TOKEN = 'test-publish-token-0123456789';

export interface RunningHerald {
  app: NestExpressApplication;
  config: HeraldConfig;
  url: string;
  port: number;
  /** Every JSON log line the app wrote. */
  logs: string[];
  get<T>(token: unknown): T;
  close(): Promise<void>;
}

/** Starts the real app on a real port (127.0.0.1, ephemeral) with `env` over test defaults. */
export async function startHerald(env: Record<string, string> = {}): Promise<RunningHerald> {
  // Each app gets its own alert store unless the test shares one on purpose (restart tests).
  const alertsStore = join(mkdtempSync(join(tmpdir(), 'herald-test-')), 'alerts.json');
  const config = loadConfig({ ADMIN_TOKEN, PUBLISH_TOKEN, LOG_LEVEL: 'warn', ALERTS_STORE_PATH: alertsStore, ...env });
  return startHeraldWith(config);
}

/** Starts the real app with `config` as given on 127.0.0.1:`listenPort` (0: ephemeral; fixed to restart "the same server"). */
export async function startHeraldWith(config: HeraldConfig, listenPort = 0): Promise<RunningHerald> {
  const logs: string[] = [];
  const app = await createHerald(config, { logger: new JsonLogger(config.logLevel, (line) => logs.push(line)) });
  await app.listen(listenPort, '127.0.0.1');
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    app,
    config,
    url: `http://127.0.0.1:${port}`,
    port,
    logs,
    get: <T>(token: unknown) => app.get(token as never) as T,
    close: () => app.close(),
  };
}

export interface HttpAnswer<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

export async function request<T = unknown>(
  url: string,
  init: RequestInit & { json?: unknown } = {},
): Promise<HttpAnswer<T>> {
  const headers = new Headers(init.headers);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set('content-type', 'application/json');
    body = JSON.stringify(init.json);
  }
  const res = await fetch(url, { ...init, headers, body });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: parseBody(text) as T };
}

function parseBody(text: string): unknown {
  try {
    return text === '' ? undefined : JSON.parse(text);
  } catch {
    return text;
  }
}

/** Probes `/health/<which>` until it answers `status`; returns that answer. */
export function probeUntil<T>(
  url: string,
  which: 'live' | 'ready' | 'startup',
  status: number,
  timeoutMs = 5_000,
  intervalMs = 20,
): Promise<HttpAnswer<T>> {
  const answered = async () => {
    const answer = await request<T>(`${url}/health/${which}`);
    return answer.status === status && answer;
  };
  return eventually(answered, timeoutMs, `/health/${which} to answer ${status}`, intervalMs);
}

/** Publishes one event with the publish token; returns the answer. */
export function publish(
  herald: RunningHerald,
  topic: string,
  body: unknown,
  token = PUBLISH_TOKEN,
): Promise<HttpAnswer<{ id: string }>> {
  return request(`${herald.url}/v1/topics/${encodeURIComponent(topic)}/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    json: body,
  });
}

export async function publishOk(herald: RunningHerald, topic: string, data: unknown, type?: string): Promise<string> {
  const answer = await publish(herald, topic, type === undefined ? { data } : { type, data });
  if (answer.status !== 202) throw new Error(`publish failed: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body.id;
}
