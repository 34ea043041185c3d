import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page, type Request } from 'playwright-core';
import { MonitoringService } from '../src/monitoring/monitoring.service.js';
import { RawSseClient } from './support/raw-sse.js';
import { ADMIN_TOKEN, eventually, publishOk, request, startHerald, type RunningHerald } from './support/herald.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH, describeWith } from './support/services.js';

const ARTIFACTS = fileURLToPath(new URL('./artifacts/', import.meta.url));
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

describe('GET /dashboard over HTTP', () => {
  let herald: RunningHerald;
  beforeAll(async () => {
    herald = await startHerald({ SNAPSHOT_INTERVAL_MS: '200' });
  });
  afterAll(() => herald?.close());

  it('serves a page whose every script and style comes from Herald itself (works offline, no CDN)', async () => {
    const page = await request<string>(`${herald.url}/dashboard`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('content-security-policy')).toContain("connect-src 'self'");
    expect(page.body).not.toMatch(/(src|href)=["'](https?:)?\/\//);
    const assets = [...page.body.matchAll(/(?:src|href)="(\/[^"]*)"/g)].map((match) => match[1]);
    expect(assets).toEqual(['/dashboard/dashboard.css', '/dashboard/chart.umd.min.js', '/dashboard/dashboard.js']);
    for (const asset of assets) {
      const answer = await request<string>(`${herald.url}${asset}`);
      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-type')).toMatch(asset.endsWith('.css') ? /^text\/css/ : /^text\/javascript/);
    }
    // The real charting library, the installed version, not a hand-drawn stand-in.
    const require = createRequire(import.meta.url);
    const chartDir = dirname(require.resolve('chart.js'));
    const version = (JSON.parse(readFileSync(join(chartDir, '..', 'package.json'), 'utf8')) as { version: string })
      .version;
    const served = (await request<string>(`${herald.url}/dashboard/chart.umd.min.js`)).body;
    expect(served).toBe(readFileSync(join(chartDir, 'chart.umd.min.js'), 'utf8'));
    expect(served).toContain(version);
  });

  it('answers 404 for anything else under /dashboard, including traversal attempts', async () => {
    for (const path of ['/dashboard/nope.js', '/dashboard/..%2F..%2Fpackage.json', '/dashboard/%2e%2e%2fREADME.md']) {
      const answer = await request<{ statusCode: number }>(`${herald.url}${path}`);
      expect(answer.status).toBe(404);
      expect(answer.body.statusCode).toBe(404);
    }
  });

  it('the feed needs the admin token in a header: none, a wrong one, or one in the URL is 401', async () => {
    for (const [path, headers] of [
      ['/dashboard/stream', {}],
      ['/dashboard/stream', { authorization: 'Bearer not-the-admin-token' }],
      [`/dashboard/stream?token=${ADMIN_TOKEN}`, {}],
      [`/dashboard/stream?access_token=${ADMIN_TOKEN}`, {}],
    ] as const) {
      const answer = await request<{ statusCode: number }>(`${herald.url}${path}`, { headers });
      expect(answer.status).toBe(401);
      expect(answer.body.statusCode).toBe(401);
    }
  });

  it('the feed is SSE: chart history first, then a snapshot now and after every monitoring snapshot', async () => {
    const feed = new RawSseClient(`${herald.url}/dashboard/stream`, { headers: admin });
    await feed.waitForEvents(3, 5_000);
    feed.close();
    expect(feed.status).toBe(200);
    expect(feed.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(feed.headers['cache-control']).toContain('no-cache');
    expect(feed.headers['x-accel-buffering']).toBe('no');
    expect(feed.events.map((event) => event.event)).toEqual(['history', 'snapshot', 'snapshot']);
    const history = JSON.parse(feed.events[0].data) as { points: unknown[]; snapshotIntervalMs: number };
    expect(history.snapshotIntervalMs).toBe(200);
    expect(history.points.length).toBeGreaterThan(0);
    const snapshot = JSON.parse(feed.events[2].data) as {
      status: { connections: { active: number } };
      recentAlerts: [];
    };
    expect(snapshot.status.connections.active).toBe(0);
    expect(snapshot.recentAlerts).toEqual([]);
  });
});

describeWith(CHROMIUM_PATH !== undefined, 'Chromium is not installed (Debian package chromium)')(
  'GET /dashboard in headless Chromium',
  () => {
    let herald: RunningHerald;
    let browser: Browser;
    const streams: RawSseClient[] = [];

    beforeAll(async () => {
      herald = await startHerald({ SNAPSHOT_INTERVAL_MS: '250' });
      browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
    });
    afterAll(async () => {
      for (const stream of streams) stream.close();
      await browser?.close();
      await herald?.close();
    });

    const text = (page: Page, selector: string): Promise<string> => page.locator(selector).innerText();
    async function waitForText(page: Page, selector: string, expected: string | RegExp): Promise<void> {
      let actual = '';
      await eventually(
        async () => {
          actual = await text(page, selector);
          return typeof expected === 'string' ? actual === expected : expected.test(actual);
        },
        10_000,
        () => `${selector}: it is ${JSON.stringify(actual)}, wanted ${expected}`,
        100,
      );
    }

    it('shows live figures and charts that follow reality, with the token kept out of every URL', async () => {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1300 } });
      const requests: Request[] = [];
      page.on('request', (sent) => requests.push(sent));
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(String(error)));
      page.on('console', (message) => {
        if (message.type() === 'error') errors.push(message.text());
      });

      await page.goto(`${herald.url}/dashboard#token=${encodeURIComponent(ADMIN_TOKEN)}`);
      await page.locator('#feed-state[data-state="live"]').waitFor({ timeout: 10_000 });
      await waitForText(page, '#active-connections', '0');
      // The fragment is gone from the address bar once read.
      expect(await page.evaluate(() => location.hash)).toBe('');
      await waitForText(page, '#active-alerts-empty', 'no alerts');
      await waitForText(page, '#recent-alerts-empty', 'no alerts');

      for (let i = 0; i < 3; i++) {
        const stream = new RawSseClient(`${herald.url}/v1/events?topic=dash`);
        streams.push(stream);
        await stream.waitForBody((body) => body.startsWith('retry:'));
      }
      await waitForText(page, '#active-connections', '3');
      await waitForText(page, '#opened-total', '3');
      for (let i = 0; i < 20; i++) await publishOk(herald, 'dash', { i });
      await Promise.all(streams.map((stream) => stream.waitForEvents(20)));
      await waitForText(page, '#history-events', '20');
      // A fresh instance is in its leak warm-up (the first LEAK_WINDOW_MS is never judged).
      await waitForText(page, '#leak-verdict', /^warming up — not judged/);
      // The chart is Chart.js, fed by the same snapshots.
      const lastActive = await page.evaluate(() => {
        const charts = (
          window as unknown as { heraldCharts: Record<string, { data: { datasets: { data: number[] }[] } }> }
        ).heraldCharts;
        return charts.connections.data.datasets[0].data.at(-1);
      });
      expect(lastActive).toBe(3);
      expect(await page.evaluate(() => (window as unknown as { Chart?: { version: string } }).Chart?.version)).toMatch(
        /^4\./,
      );

      // Alerts come from the alerts source (the Alerts module registers it at init).
      const startedAt = new Date().toISOString();
      herald.get<MonitoringService>(MonitoringService).registerAlertsSource({
        active: () => [{ ruleId: 'r1', name: 'streams above 2', severity: 'critical', value: 3, startedAt }],
        recent: () => [
          {
            status: 'firing',
            rule: { id: 'r1', name: 'streams above 2', metric: 'active_connections', op: '>', threshold: 2 },
            severity: 'critical',
            value: 3,
            startedAt,
          },
        ],
      });
      await waitForText(page, '#active-alerts tbody', /critical\s+streams above 2\s+3/);
      await waitForText(page, '#recent-alerts', /firing · streams above 2 \(critical\) = 3/);
      expect(await page.locator('#active-alerts-empty').isHidden()).toBe(true);

      streams.splice(0, 2).forEach((stream) => stream.close());
      await waitForText(page, '#active-connections', '1');

      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });

      const feed = requests.find((sent) => sent.url().endsWith('/dashboard/stream'));
      expect(feed?.headers().authorization).toBe(`Bearer ${ADMIN_TOKEN}`);
      for (const sent of requests) expect(sent.url()).not.toContain(ADMIN_TOKEN);
      expect(requests.every((sent) => sent.url().startsWith(herald.url))).toBe(true);
      expect(errors).toEqual([]);
      await page.close();
    });

    /** For each grid, rows whose items do not reach the grid's right edge (an empty slot), at this viewport. */
    const emptySlots = (page: Page, selector: string): Promise<string[]> =>
      page.evaluate((gridSelector) => {
        const grid = document.querySelector(gridSelector) as HTMLElement;
        const box = grid.getBoundingClientRect();
        const rows = new Map<number, DOMRect[]>();
        for (const child of Array.from(grid.children) as HTMLElement[]) {
          if (child.hidden) continue;
          const rect = child.getBoundingClientRect();
          const top = Math.round(rect.top);
          rows.set(top, [...(rows.get(top) ?? []), rect]);
        }
        const problems: string[] = [];
        for (const [top, rects] of rows) {
          const left = Math.min(...rects.map((rect) => rect.left));
          const right = Math.max(...rects.map((rect) => rect.right));
          if (Math.abs(left - box.left) > 2 || Math.abs(right - box.right) > 2) {
            problems.push(`${gridSelector} row at ${top}: ${left}–${right} in ${box.left}–${box.right}`);
          }
        }
        return problems;
      }, selector);

    it('reads at a glance: no empty grid slot at three widths, counts without zeros, heap per stream only with enough streams', async () => {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1300 } });
      await page.goto(`${herald.url}/dashboard#token=${encodeURIComponent(ADMIN_TOKEN)}`);
      await page.locator('#feed-state[data-state="live"]').waitFor({ timeout: 10_000 });
      // Too few streams for a per-stream estimate: none is shown, and the tile says why.
      await waitForText(page, '#bytes-per-connection-spread', 'needs ≥ 100 streams');
      expect(await text(page, '#bytes-per-connection')).toBe('—');

      // Only counts that are not zero, biggest first (the first test closed two streams).
      await waitForText(page, '#reasons', /^closed: client\s+\d+$/);
      expect(await page.locator('#reasons-empty').isHidden()).toBe(true);

      // 120 streams from two client IPs: now an estimate, with its spread.
      const many = Array.from(
        { length: 120 },
        (_, i) => new RawSseClient(`${herald.url}/v1/events?topic=many`, { localAddress: `127.0.0.${10 + (i % 2)}` }),
      );
      streams.push(...many);
      await Promise.all(many.map((stream) => stream.waitForBody((body) => body.startsWith('retry:'))));
      await waitForText(page, '#bytes-per-connection', /^\d[\d.,]* (B|KB|MB)$/);
      await waitForText(page, '#bytes-per-connection-spread', /–.* over 1\d\d streams$/);

      mkdirSync(ARTIFACTS, { recursive: true });
      for (const width of [1400, 1000, 700]) {
        await page.setViewportSize({ width, height: 1300 });
        await page.waitForTimeout(300);
        await page.screenshot({ path: join(ARTIFACTS, `dashboard-${width}.png`), fullPage: true });
        expect([...(await emptySlots(page, '.charts')), ...(await emptySlots(page, '.panels'))]).toEqual([]);
      }
      for (const stream of many) stream.close();
      await page.close();
    });

    it('the fleet example: its tiles do not style the Status cells, and it asks for no favicon', async () => {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const asked: string[] = [];
      page.on('request', (sent) => asked.push(new URL(sent.url()).pathname));
      await page.goto(`${herald.url}/examples/fleet`);
      await page.locator('#trucks').fill('1,2');
      await page.locator('#pick button').click();
      await page.locator('td.status').first().waitFor({ timeout: 10_000 });
      const cells = await page.evaluate(() =>
        Array.from(document.querySelectorAll('td.status')).map((cell) => getComputedStyle(cell).display),
      );
      expect(cells.length).toBeGreaterThan(0);
      expect(new Set(cells)).toEqual(new Set(['table-cell']));
      // The Status cells line up under their header.
      const [header, cell] = await page.evaluate(() => {
        const headers = Array.from(document.querySelectorAll('thead th'));
        const index = Array.from(document.querySelector('tbody tr')?.children ?? []).findIndex((td) =>
          td.classList.contains('status'),
        );
        return [
          headers[index].getBoundingClientRect().left,
          document.querySelector('td.status')?.getBoundingClientRect().left,
        ];
      });
      expect(Math.abs((cell ?? NaN) - header)).toBeLessThan(1);
      await page.waitForTimeout(500);
      expect(asked.filter((path) => path.includes('favicon'))).toEqual([]);
      await page.close();
    });

    it('asks for the token when none is given or Herald refuses it, then connects', async () => {
      const page = await browser.newPage();
      await page.goto(`${herald.url}/dashboard#token=not-the-admin-token`);
      await page.locator('#token-form').waitFor({ state: 'visible', timeout: 10_000 });
      expect(await text(page, '#token-message')).toContain('401');
      expect(await page.locator('#feed-state').getAttribute('data-state')).toBe('unauthorized');
      await page.fill('#token-input', ADMIN_TOKEN);
      await page.click('#token-form button[type="submit"]');
      await page.locator('#feed-state[data-state="live"]').waitFor({ timeout: 10_000 });
      await waitForText(page, '#active-connections', /^\d+$/);
      await page.close();

      const bare = await browser.newPage();
      await bare.goto(`${herald.url}/dashboard`);
      await bare.locator('#token-form').waitFor({ state: 'visible', timeout: 10_000 });
      await bare.close();
    });
  },
);
