import { afterEach, expect, it } from '@jest/globals';
import type { Page } from 'playwright-core';
import {
  admin,
  connections,
  ENV,
  errors,
  metrics,
  openTab,
  presence,
  received,
  resets,
  truck,
  useChromium,
  waitForAll,
} from './support/browser-tabs.js';
import { publishOk, request, sleep, startHerald, until, type RunningHerald } from './support/herald.js';
import { CHROMIUM_PATH, describeWith } from './support/services.js';

/** The latest count a tab was told per topic, as `topic=n …`, sorted. */
async function counts(page: Page): Promise<string> {
  const latest = new Map<string, number>();
  for (const { topic, subscribers } of await presence(page)) latest.set(topic, subscribers);
  return [...latest.entries()]
    .map(([topic, subscribers]) => `${topic}=${subscribers}`)
    .sort()
    .join(' ');
}

describeWith(CHROMIUM_PATH !== undefined, 'Chromium (set by .ci/run; apt-get install chromium)')(
  'Browser client presence (presence=1) in headless Chromium',
  () => {
    const { newContext } = useChromium();
    let herald: RunningHerald | undefined;
    afterEach(async () => {
      await herald?.close();
      herald = undefined;
    });

    it('over the shared stream each tab that asked gets the counts of its own topics, a late tab at once', async () => {
      const server = (herald = await startHerald(ENV));
      const browser = await newContext();
      const watcher = await openTab(browser, server, [truck(1), truck(2)], { presence: true });
      const plain = await openTab(browser, server, [truck(1)]);
      // Another browser, with its own stream, on truck 2 only.
      const other = await openTab(await newContext(), server, [truck(2)], { presence: true });
      await until(async () => (await connections(server)).length === 2, 'one stream per browser');
      await until(async () => (await counts(watcher)) === 'trucks/1=1 trucks/2=2', 'the counts in the watching tab');
      await until(async () => (await counts(other)) === 'trucks/2=2', 'the count in the other browser');
      expect((await metrics(watcher)).shared).toBe(true);

      // A tab joining a topic the shared stream already carries: the last known count, without a reconnect.
      const before = (await connections(server)).map((c) => c.id).sort();
      const late = await openTab(browser, server, [truck(2)], { presence: true });
      await until(async () => (await counts(late)) === 'trucks/2=2', 'the late tab to get the count', 1_000);
      expect((await connections(server)).map((c) => c.id).sort()).toEqual(before);

      // The other browser leaves: the new count reaches every tab of truck 2 that asked.
      await other.close();
      await until(async () => (await counts(watcher)) === 'trucks/1=1 trucks/2=1', 'truck 2 down to one');
      await until(async () => (await counts(late)) === 'trucks/2=1', 'the late tab told too');
      expect(await presence(plain)).toEqual([]);
    });

    it('with PRESENCE=off the shared stream goes on without presence, and the tabs are told', async () => {
      const server = (herald = await startHerald({ ...ENV, PRESENCE: 'off' }));
      const browser = await newContext();
      const watcher = await openTab(browser, server, ['off/a'], { presence: true });
      const plain = await openTab(browser, server, ['off/b']);
      await until(async () => (await connections(server))[0]?.topics.length === 2, 'the shared stream');
      const id = await publishOk(server, 'off/b', 'still streaming');
      await waitForAll([plain], (got) => got.some((e) => e.id === id), 'the tab that did not ask');
      const told = await errors(watcher);
      expect(told).toMatchObject([{ kind: 'http', status: 400, fatal: false }]);
      expect(told[0].message).toContain('presence');
      expect(await presence(watcher)).toEqual([]);
    });

    it.each(['fetch', 'eventsource'] as const)(
      'presence frames never move the resume point (%s): after a kick the stream resumes exactly',
      async (transport) => {
        const server = (herald = await startHerald(ENV));
        const page = await openTab(await newContext(), server, ['resume/a'], { presence: true, transport });
        await until(async () => (await counts(page)) === 'resume/a=1', 'the first count');
        const ids = [await publishOk(server, 'resume/a', 1)];
        await waitForAll([page], (got) => got.length === 1, 'the first event');
        // A second browser on the topic: a presence frame (no id) now follows the event.
        await openTab(await newContext(), server, ['resume/a', 'resume/b']);
        await until(async () => (await counts(page)) === 'resume/a=2', 'the count after the event');
        expect((await metrics(page)).lastEventId).toBe(ids[0]);

        const mine = (await connections(server)).find((c) => c.topics.length === 1)!;
        const kick = await request(`${server.url}/v1/admin/connections/${mine.id}`, {
          method: 'DELETE',
          headers: admin,
        });
        expect(kick.status).toBe(204);
        // Published while the stream is down: replayed after the id of the last event, not of any presence frame.
        ids.push(await publishOk(server, 'resume/a', 2));
        await until(async () => {
          const list = await connections(server);
          return list.length === 2 && !list.some((c) => c.id === mine.id);
        }, 'the reconnected stream');
        ids.push(await publishOk(server, 'resume/a', 3));
        await waitForAll([page], (got) => got.length >= 3, 'three events across the kick');
        await sleep(200);
        expect((await received(page)).map((e) => e.id)).toEqual(ids);
        expect(await resets(page)).toEqual([]);
        expect(await metrics(page)).toMatchObject({
          transport,
          reconnects: 1,
          messagesReceived: 3,
          lastEventId: ids[2],
        });
      },
    );
  },
);
