import { afterEach, expect, it } from '@jest/globals';
import type { Page } from 'playwright-core';
import { loadConfig } from '../src/config/herald-config.js';
import {
  admin,
  connections,
  ENV,
  metrics,
  openTab,
  received,
  resets,
  state,
  TAB_PATH,
  truck,
  useChromium,
  waitForAll,
} from './support/browser-tabs.js';
import {
  ADMIN_TOKEN,
  publishOk,
  PUBLISH_TOKEN,
  request,
  sleep,
  startHerald,
  startHeraldWith,
  until,
  type RunningHerald,
} from './support/herald.js';
import { CHROMIUM_PATH, describeWith, REDIS_URL, redisAvailable } from './support/services.js';

/** Starts Herald on a fixed port (to restart "the same server"), with the test tokens. */
function startOnPort(port: number, env: Record<string, string>): Promise<RunningHerald> {
  return startHeraldWith(loadConfig({ ADMIN_TOKEN, PUBLISH_TOKEN, ...ENV, ...env }), port);
}

const redisUp = await redisAvailable();

describeWith(CHROMIUM_PATH !== undefined, 'Chromium (set by .ci/run; apt-get install chromium)')(
  'Browser client in headless Chromium',
  () => {
    const { newContext } = useChromium();
    let herald: RunningHerald;
    afterEach(async () => {
      await herald?.close();
      herald = undefined as unknown as RunningHerald;
    });

    it('8 tabs share one stream; each tab gets exactly its topics; closing tabs shrinks the union', async () => {
      herald = await startHerald(ENV);
      const ctx = await newContext();
      const tabTopics = Array.from({ length: 8 }, (_, i) => [truck(i), truck(i + 1)]);
      const pages = await Promise.all(tabTopics.map((topics) => openTab(ctx, herald, topics)));
      const union = Array.from({ length: 9 }, (_, i) => truck(i)).sort();

      const [stream] = await until(async () => {
        const list = await connections(herald);
        return list.length === 1 && list[0].topics.length === 9 && list;
      }, 'one stream with the union of all tabs');
      expect([...stream.topics].sort()).toEqual(union);
      await until(async () => (await Promise.all(pages.map(state))).every((s) => s === 'open'), 'every tab open');
      expect((await metrics(pages[0])).shared).toBe(true);

      const published = new Map<string, string[]>();
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i <= 9; i++) {
          const id = await publishOk(herald, truck(i), { round, truck: i }, 'position');
          published.set(truck(i), [...(published.get(truck(i)) ?? []), id]);
        }
      }
      const expected = (topics: string[]): string[] =>
        [...published.entries()]
          .filter(([topic]) => topics.includes(topic))
          .flatMap(([, ids]) => ids)
          .sort((a, b) => Number(a.split('-')[1]) - Number(b.split('-')[1]));
      await waitForAll(pages, (got, i) => got.length >= expected(tabTopics[i]).length, 'every tab to get its events');
      await sleep(200);
      for (const [i, page] of pages.entries()) {
        const got = await received(page);
        expect(got.map((e) => e.id)).toEqual(expected(tabTopics[i]));
        expect(got.every((e) => tabTopics[i].includes(e.topic) && e.type === 'position')).toBe(true);
      }
      // trucks/8 is only in the last tab; trucks/9 in none (the exact lists above say nobody else got them).
      expect((await received(pages[7])).filter((e) => e.topic === truck(8))).toHaveLength(3);

      // Closing tabs 5–7 drops trucks/6…9 (tab 4 still has trucks/4 and trucks/5).
      for (const page of pages.splice(5)) await page.close();
      const [smaller] = await until(async () => {
        const list = await connections(herald);
        return list.length === 1 && list[0].topics.length === 6 && list;
      }, 'the union to shrink after closing tabs');
      expect([...smaller.topics].sort()).toEqual(union.slice(0, 6));
      const id = await publishOk(herald, truck(5), 'after close');
      await waitForAll([pages[4]], (got) => got.some((e) => e.id === id), 'the remaining tab to keep receiving');
      expect((await connections(herald)).length).toBe(1);
    });

    it('a kicked stream reconnects and resumes: every tab gets every event once, in order', async () => {
      herald = await startHerald(ENV);
      const ctx = await newContext();
      const pages = [await openTab(ctx, herald, ['kick/a']), await openTab(ctx, herald, ['kick/b', 'kick/a'])];
      const [first] = await until(async () => {
        const list = await connections(herald);
        return list.length === 1 && list[0].topics.length === 2 && list;
      }, 'the shared stream');
      await until(async () => (await Promise.all(pages.map(state))).every((s) => s === 'open'), 'tabs open');
      const ids: string[] = [];
      for (let n = 0; n < 5; n++) ids.push(await publishOk(herald, 'kick/a', n));
      const kick = await request(`${herald.url}/v1/admin/connections/${first.id}`, {
        method: 'DELETE',
        headers: admin,
      });
      expect(kick.status).toBe(204);
      // Published while the stream is down (retry: 200 ms): replayed after the reconnect.
      for (let n = 5; n < 10; n++) ids.push(await publishOk(herald, 'kick/a', n));
      await until(async () => {
        const list = await connections(herald);
        return list.length === 1 && list[0].id !== first.id;
      }, 'the reconnected stream');
      for (let n = 10; n < 15; n++) ids.push(await publishOk(herald, 'kick/a', n));
      await waitForAll(pages, (got) => got.length >= 15, 'all 15 events in both tabs');
      await sleep(200);
      for (const page of pages) expect((await received(page)).map((e) => e.id)).toEqual(ids);
      expect((await metrics(pages[0])).reconnects).toBe(1);
    });

    it('a restarted server (memory broker, history lost) reaches every tab as `reset`, then events flow again', async () => {
      herald = await startHerald(ENV);
      const port = herald.port;
      const ctx = await newContext();
      const pages = [await openTab(ctx, herald, ['restart/a']), await openTab(ctx, herald, ['restart/b'])];
      await until(async () => (await connections(herald))[0]?.topics.length === 2 && herald, 'the shared stream');
      await publishOk(herald, 'restart/a', 'before');
      await publishOk(herald, 'restart/b', 'before');
      await waitForAll(pages, (got) => got.length === 1, 'one event per tab');

      await herald.close();
      await sleep(300);
      herald = await startOnPort(port, {});
      await until(async () => (await connections(herald)).length === 1, 'the client back on the new server');
      const all = await until(async () => {
        const got = await Promise.all(pages.map(resets));
        return got.every((r) => r.length === 1) && got;
      }, 'reset in every tab');
      for (const got of all) expect(got[0]).toMatchObject({ reason: 'history-lost' });
      await publishOk(herald, 'restart/a', 'after');
      await publishOk(herald, 'restart/b', 'after');
      await waitForAll(pages, (got) => got.length === 2, 'events after the restart');
      for (const page of pages) expect((await received(page)).map((e) => e.data)).toEqual(['before', 'after']);
    });

    describeWith(redisUp, `Redis at ${REDIS_URL}`)('with the Redis broker', () => {
      it('a restarted server resumes exactly: no reset, nothing lost, nothing twice', async () => {
        const env = { BROKER: 'redis', REDIS_URL, REDIS_KEY_PREFIX: `herald-client-${process.pid}-${Date.now()}:` };
        herald = await startHerald({ ...ENV, ...env });
        const port = herald.port;
        const ctx = await newContext();
        const pages = [await openTab(ctx, herald, ['redis/a']), await openTab(ctx, herald, ['redis/a', 'redis/b'])];
        await until(async () => (await connections(herald))[0]?.topics.length === 2, 'the shared stream');
        await until(async () => (await Promise.all(pages.map(state))).every((s) => s === 'open'), 'tabs open');
        const ids = [await publishOk(herald, 'redis/a', 1), await publishOk(herald, 'redis/a', 2)];
        await waitForAll(pages, (got) => got.length === 2, 'events before the restart');

        await herald.close();
        // Published by another instance while this one is down: history in Redis outlives the process.
        const other = await startHerald({ ...ENV, ...env });
        ids.push(await publishOk(other, 'redis/a', 3), await publishOk(other, 'redis/a', 4));
        await other.close();
        herald = await startOnPort(port, env);
        ids.push(await publishOk(herald, 'redis/a', 5));
        await waitForAll(pages, (got) => got.length >= 5, 'every event after the restart');
        await sleep(200);
        for (const page of pages) {
          expect((await received(page)).map((e) => e.id)).toEqual(ids);
          expect(await resets(page)).toEqual([]);
        }
      });
    });

    it('without SharedWorker each tab falls back to its own stream, same API', async () => {
      herald = await startHerald(ENV);
      const ctx = await newContext('delete window.SharedWorker;');
      const pages = [await openTab(ctx, herald, ['solo/a']), await openTab(ctx, herald, ['solo/b'])];
      const list = await until(async () => {
        const found = await connections(herald);
        return found.length === 2 && found;
      }, 'one stream per tab');
      expect(list.map((c) => c.topics.join()).sort()).toEqual(['solo/a', 'solo/b']);
      const a = await publishOk(herald, 'solo/a', 'A');
      const b = await publishOk(herald, 'solo/b', 'B');
      await waitForAll(pages, (got) => got.length === 1, 'each tab its event');
      expect((await received(pages[0])).map((e) => e.id)).toEqual([a]);
      expect((await received(pages[1])).map((e) => e.id)).toEqual([b]);
      expect(await metrics(pages[0])).toMatchObject({ shared: false, transport: 'fetch', messagesReceived: 1 });
    });

    it('a worker script that cannot load falls back to a stream in the page', async () => {
      herald = await startHerald(ENV);
      const ctx = await newContext();
      const page = await openTab(ctx, herald, ['solo/c'], { workerUrl: '/client/missing-worker.js' });
      await until(async () => (await state(page)) === 'open', 'the in-page stream');
      const id = await publishOk(herald, 'solo/c', 'C');
      await waitForAll([page], (got) => got.length === 1, 'the event');
      expect((await received(page))[0].id).toBe(id);
      expect((await metrics(page)).shared).toBe(false);
      expect(await connections(herald)).toHaveLength(1);
    });

    it('where fetch cannot stream, EventSource carries the envelope stream (typed events included)', async () => {
      herald = await startHerald(ENV);
      const ctx = await newContext();
      const page = await openTab(ctx, herald, ['es/a'], { transport: 'eventsource', eventTypes: ['position'] });
      await until(async () => (await connections(herald)).length === 1 && (await state(page)) === 'open', 'open');
      const ids = [await publishOk(herald, 'es/a', { lat: 1 }, 'position'), await publishOk(herald, 'es/a', 'plain')];
      const [first] = await connections(herald);
      await request(`${herald.url}/v1/admin/connections/${first.id}`, { method: 'DELETE', headers: admin });
      ids.push(await publishOk(herald, 'es/a', { lat: 2 }, 'position'));
      await waitForAll([page], (got) => got.length >= 3, 'three events across a kick');
      const got = await received(page);
      expect(got.map((e) => e.id)).toEqual(ids);
      expect(got.map((e) => e.type)).toEqual(['position', 'message', 'position']);
      expect(await metrics(page)).toMatchObject({ transport: 'eventsource', reconnects: 1 });
    });

    it('8 EventSource tabs starve the page of HTTP/1.1 connections; 8 Herald tabs leave it free', async () => {
      herald = await startHerald(ENV);
      /** From the first tab: fetch another resource of the origin, or give up after `ms`. */
      const loadOther = (page: Page, ms: number): Promise<number | 'stalled'> =>
        page.evaluate(async (ms) => {
          const started = performance.now();
          const controller = new AbortController();
          const timer = setTimeout(() => controller.abort(), ms);
          try {
            await (
              await fetch(`/client/herald-worker.js?${Math.random()}`, { signal: controller.signal, cache: 'no-store' })
            ).text();
            return Math.round(performance.now() - started);
          } catch {
            return 'stalled' as const;
          } finally {
            clearTimeout(timer);
          }
        }, ms);

      // Plain EventSource, one per tab: Chromium allows 6 connections per host, the streams take them all.
      const plain = await newContext();
      const plainPages = await Promise.all(
        Array.from({ length: 8 }, async () => {
          const page = await plain.newPage();
          await page.goto(`${herald.url}${TAB_PATH}`);
          return page;
        }),
      );
      for (const [i, page] of plainPages.entries()) {
        await page.evaluate((topic) => {
          (window as unknown as { source: EventSource }).source = new EventSource(`/v1/events?topic=${topic}`);
        }, truck(i));
      }
      await until(async () => (await connections(herald)).length === 6, 'six plain streams');
      await sleep(300);
      expect((await connections(herald)).length).toBe(6);
      expect(await loadOther(plainPages[0], 1_500)).toBe('stalled');
      await plain.close();

      // The Herald client: one shared stream for the same 8 tabs, the other 5 connections stay free.
      const shared = await newContext();
      const pages = await Promise.all(Array.from({ length: 8 }, (_, i) => openTab(shared, herald, [truck(i)])));
      await until(async () => {
        const list = await connections(herald);
        return list.length === 1 && list[0].topics.length === 8;
      }, 'one shared stream for 8 tabs');
      const elapsed = await loadOther(pages[0], 5_000);
      expect(elapsed).not.toBe('stalled');
      expect(elapsed).toBeLessThan(1_500);
      const id = await publishOk(herald, truck(7), 'still streaming');
      await waitForAll([pages[7]], (got) => got.some((e) => e.id === id), 'the last tab still streaming');
    });

    it('the fleet example page tracks its trucks over the shared stream and shows who watches them', async () => {
      herald = await startHerald(ENV);
      const ctx = await newContext();
      const first = await ctx.newPage();
      await first.goto(`${herald.url}/examples/fleet?trucks=1,2`);
      const second = await ctx.newPage();
      await second.goto(`${herald.url}/examples/fleet?trucks=3`);
      await until(async () => {
        const list = await connections(herald);
        return list.length === 1 && list[0].topics.length === 3;
      }, 'one stream for both fleet tabs');
      await publishOk(herald, truck(3), { lat: 52.52, lon: 13.405, speed: 87 }, 'position');
      await until(
        async () => (await second.locator('tr[data-truck="3"] .speed').textContent()) === '87 km/h',
        'truck 3 to move in its tab',
      );
      expect(await first.locator('tr[data-truck="3"]').count()).toBe(0);
      expect(await first.locator('#mode').textContent()).toBe('shared (SharedWorker)');

      // Presence counts streams: the two tabs share one; a page in another browser makes two on truck 3.
      const watching = async (page: Page): Promise<string> =>
        (await page.locator('td.watching').allTextContents()).join();
      await until(
        async () => (await watching(first)) === '1 watching,1 watching' && (await watching(second)) === '1 watching',
        'one stream on each truck',
      );
      const elsewhere = await (await newContext()).newPage();
      await elsewhere.goto(`${herald.url}/examples/fleet?trucks=3`);
      await until(
        async () => (await watching(second)) === '2 watching' && (await watching(elsewhere)) === '2 watching',
        'two streams on truck 3',
      );
      expect(await watching(first)).toBe('1 watching,1 watching');
      await elsewhere.close();
      await until(async () => (await watching(second)) === '1 watching', 'one again once the other browser left');
    });
  },
);
