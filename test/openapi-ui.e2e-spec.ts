import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { OpenAPIObject } from '@nestjs/swagger';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { TAGS } from '../src/openapi/tags.js';
import { startHerald, type RunningHerald } from './support/herald.js';
import { operationsOf } from './support/openapi-contract.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH, describeWith } from './support/services.js';

const ARTIFACTS = fileURLToPath(new URL('./artifacts/', import.meta.url));

describeWith(CHROMIUM_PATH !== undefined, 'Chromium (set by .ci/run; apt-get install chromium)')(
  'Swagger UI at /docs in headless Chromium',
  () => {
    let herald: RunningHerald;
    let browser: Browser;
    let page: Page;
    let document: OpenAPIObject;
    /** Every URL the page asked for. */
    const requested: string[] = [];

    beforeAll(async () => {
      herald = await startHerald();
      document = (await (await fetch(`${herald.url}/openapi.json`)).json()) as OpenAPIObject;
      browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
      page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      page.on('request', (request) => requested.push(request.url()));
      await page.goto(`${herald.url}/docs`);
      await page.locator('.opblock').first().waitFor({ timeout: 30_000 });
    }, 60_000);
    afterAll(async () => {
      await browser?.close();
      await herald?.close();
    });

    it('lists every operation of /openapi.json under its tag, by operationId', async () => {
      const shown = await page.locator('.opblock').evaluateAll((blocks) =>
        blocks.map((block) => ({
          method: block.querySelector('.opblock-summary-method')?.textContent?.trim().toLowerCase(),
          path: block.querySelector('.opblock-summary-path')?.getAttribute('data-path'),
          operationId: block.querySelector('.opblock-summary-operation-id')?.textContent?.trim(),
        })),
      );
      const documented = operationsOf(document).map(({ method, path, id }) => ({ method, path, operationId: id }));
      // Plus the webhook a channel sends, shown in its own section.
      expect(shown.length).toBe(documented.length + Object.keys(document.webhooks ?? {}).length);
      expect(shown).toEqual(expect.arrayContaining(documented));
      const tags = await page
        .locator('.opblock-tag')
        .evaluateAll((headings) => headings.map((heading) => heading.getAttribute('data-tag')));
      expect(tags).toEqual(Object.values(TAGS));
      expect(await page.locator('.info .title').textContent()).toContain('Herald');
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: `${ARTIFACTS}openapi-docs.png`, fullPage: true });
    });

    it('shows the stream as text/event-stream with its frames, and the channel kinds as schemas', async () => {
      await page.locator('#operations-Subscribe-subscribe .opblock-summary').click();
      const subscribe = page.locator('#operations-Subscribe-subscribe');
      await subscribe.locator('.responses-wrapper').waitFor();
      expect(await subscribe.locator('.response-content-type select, .content-type').first().textContent()).toContain(
        'text/event-stream',
      );
      expect(await subscribe.textContent()).toContain('Last-Event-ID');
      await subscribe.screenshot({ path: `${ARTIFACTS}openapi-docs-subscribe.png` });
      const models = await page
        .locator(
          'section.models article[data-json-schema-level="0"] > .json-schema-2020-12-head .json-schema-2020-12__title',
        )
        .allTextContents();
      expect(models).toEqual(
        expect.arrayContaining(['SlackChannel', 'EmailChannel', 'WebhookChannel', 'LogChannel', 'SseCloseFrame']),
      );
    });

    it('loads everything from Herald itself: no other host is contacted (works offline)', () => {
      expect(requested.length).toBeGreaterThan(3);
      expect(requested.filter((url) => !url.startsWith(`${herald.url}/`) && !url.startsWith('data:'))).toEqual([]);
    });
  },
);
