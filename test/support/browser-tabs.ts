/** Tabs in headless Chromium that load the client Herald serves, for the browser client suites. */
import { afterAll, afterEach, beforeAll, expect } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type {
  ClientMetrics,
  HeraldClient,
  HeraldClientOptions,
  HeraldError,
  PresenceInfo,
  ResetInfo,
} from '@herald/client';
import type { ConnectionView } from '../../src/streams/connection-registry.js';
import { ADMIN_TOKEN, request, until, type RunningHerald } from './herald.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './services.js';

/** What each test tab keeps on `window` (set up by `openTab`). */
interface TabWindow {
  client: HeraldClient;
  received: { id: string; topic: string; type: string; data: unknown }[];
  resets: ResetInfo[];
  presence: PresenceInfo[];
  errors: HeraldError[];
}
export type Received = TabWindow['received'];

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The tabs' document: any page of Herald's origin will do (SharedWorkers are per origin); the bundle is one. */
export const TAB_PATH = '/client/herald.js';
export const ENV = { RETRY_MS: '200', HEARTBEAT_INTERVAL_MS: '2000', LOG_LEVEL: 'error' };
/** Short timers so tab-closing and reconnects show within a test's time. */
const CLIENT_OPTIONS: HeraldClientOptions = { maxRetryDelayMs: 1_000, resubscribeDebounceMs: 20 };

export const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

/**
 * Builds the bundles Herald serves from the current sources and launches Chromium for the suite; every
 * browser context a test opens (one per simulated browser: tabs of one context share a SharedWorker) is
 * closed after it.
 */
export function useChromium(): { newContext: (init?: string) => Promise<BrowserContext> } {
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];
  beforeAll(async () => {
    execFileSync(process.execPath, ['scripts/build-client.mjs', '--bundles-only'], { cwd: ROOT, stdio: 'ignore' });
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  });
  afterEach(async () => {
    for (const context of contexts.splice(0)) await context.close();
  });
  afterAll(async () => {
    await browser?.close();
  });
  return {
    newContext: async (init) => {
      const context = await browser!.newContext();
      contexts.push(context);
      if (init) await context.addInitScript(init);
      return context;
    },
  };
}

export async function connections(herald: RunningHerald): Promise<ConnectionView[]> {
  const answer = await request<ConnectionView[]>(`${herald.url}/v1/admin/connections`, { headers: admin });
  expect(answer.status).toBe(200);
  return answer.body;
}

/** A tab that imports /client/herald.js and subscribes to `topics`, recording what it gets. */
export async function openTab(
  context: BrowserContext,
  herald: RunningHerald,
  topics: string[],
  options: HeraldClientOptions = {},
): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${herald.url}${TAB_PATH}`);
  await page.evaluate(
    async ({ topics, options }) => {
      const moduleUrl = '/client/herald.js';
      const { HeraldClient: Client } = (await import(moduleUrl)) as { HeraldClient: typeof HeraldClient };
      const tab = window as unknown as TabWindow;
      tab.received = [];
      tab.resets = [];
      tab.presence = [];
      tab.errors = [];
      tab.client = new Client(location.origin, options);
      tab.client.on('reset', (info) => tab.resets.push(info));
      tab.client.on('presence', (info) => tab.presence.push(info));
      tab.client.on('error', (error) => tab.errors.push(error));
      tab.client.subscribe(topics, (data, meta) =>
        tab.received.push({ id: meta.id, topic: meta.topic, type: meta.type, data }),
      );
    },
    { topics, options: { ...CLIENT_OPTIONS, ...options } },
  );
  return page;
}

export const received = (page: Page): Promise<Received> =>
  page.evaluate(() => (window as unknown as TabWindow).received);
export const resets = (page: Page): Promise<ResetInfo[]> =>
  page.evaluate(() => (window as unknown as TabWindow).resets);
export const presence = (page: Page): Promise<PresenceInfo[]> =>
  page.evaluate(() => (window as unknown as TabWindow).presence);
export const errors = (page: Page): Promise<HeraldError[]> =>
  page.evaluate(() => (window as unknown as TabWindow).errors);
export const metrics = (page: Page): Promise<ClientMetrics> =>
  page.evaluate(() => (window as unknown as TabWindow).client.metrics());
export const state = (page: Page): Promise<string> =>
  page.evaluate(() => (window as unknown as TabWindow).client.state);

export async function waitForAll(
  pages: Page[],
  check: (got: Received, index: number) => boolean,
  what: string,
): Promise<void> {
  await until(async () => {
    const all = await Promise.all(pages.map(received));
    return all.every(check) && all;
  }, what);
}

export const truck = (i: number): string => `trucks/${i}`;
