import { afterEach, expect, it } from '@jest/globals';
import { EventSource } from 'eventsource';
import { parseEventId } from '@herald/sse';
import { PUBLISH_TOKEN, eventually, request, sleep } from './support/herald.js';
import { HeraldChild } from './support/herald-child.js';
import { RawSseClient } from './support/raw-sse.js';
import { redisServerStartable, SentinelGroup, type SentinelGroupOptions } from './support/redis-servers.js';
import { describeWith, which } from './support/services.js';
import { TcpProxy } from './support/tcp-proxy.js';

const TOPICS = ['fleet/a', 'fleet/b'];
const STREAM_QUERY = TOPICS.map((topic) => `topic=${encodeURIComponent(topic)}`).join('&');

/** One publish the test made, and how Herald answered it. */
interface Attempt {
  n: number;
  topic: string;
  status: number;
  id?: string;
  retryAfter: string | null;
  at: number;
}

/** What a subscriber saw, in order: events and `reset` frames, with their ids. */
interface Frame {
  kind: 'event' | 'reset';
  id: string;
  n?: number;
}

const seqOf = (id: string): number => parseEventId(id)?.seq ?? Number.NaN;

function frameOf(event: { event: string; id?: string; data: string }): Frame | undefined {
  if (event.id === undefined) return undefined;
  if (event.event === 'reset') return { kind: 'reset', id: event.id };
  if (event.event !== 'message') return undefined;
  return { kind: 'event', id: event.id, n: (JSON.parse(event.data) as { n: number }).n };
}

/** Publishes to the topics in turn from a few concurrent loops until stopped; records every answer. */
class Publisher {
  readonly attempts: Attempt[] = [];
  private next = 0;
  private running = true;
  private paused = false;
  private inFlight = 0;
  private readonly loops: Promise<void>[];

  constructor(
    private readonly herald: HeraldChild,
    concurrency = 2,
    private readonly pauseMs = 20,
  ) {
    this.loops = Array.from({ length: concurrency }, () => this.loop());
  }

  accepted(since = 0): Attempt[] {
    return this.attempts.filter((attempt) => attempt.status === 202 && attempt.at >= since);
  }

  /** Holds new publishes and waits for those in flight. */
  async pause(): Promise<void> {
    this.paused = true;
    await eventually(() => this.inFlight === 0, 20_000, 'publishes in flight');
  }

  resume(): void {
    this.paused = false;
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  private async loop(): Promise<void> {
    while (this.running) {
      if (this.paused) {
        await sleep(5);
        continue;
      }
      const n = this.next++;
      this.inFlight++;
      this.attempts.push(await publish(this.herald, TOPICS[n % TOPICS.length], n));
      this.inFlight--;
      await sleep(this.pauseMs);
    }
  }
}

async function publish(herald: HeraldChild, topic: string, n: number): Promise<Attempt> {
  const at = Date.now();
  try {
    const answer = await request<{ id?: string }>(`${herald.url}/v1/topics/${encodeURIComponent(topic)}/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PUBLISH_TOKEN}` },
      json: { data: { n } },
      signal: AbortSignal.timeout(15_000),
    });
    return { n, topic, status: answer.status, id: answer.body?.id, retryAfter: answer.headers.get('retry-after'), at };
  } catch {
    return { n, topic, status: 0, retryAfter: null, at }; // No answer at all: never acceptable.
  }
}

/** Polls /health/ready and keeps the sequence of statuses (collapsed: one entry per change). */
class ReadinessWatch {
  readonly changes: { status: number; at: number }[] = [];
  private running = true;
  private readonly loop: Promise<void>;

  constructor(private readonly herald: HeraldChild) {
    this.loop = this.run();
  }

  statuses(): number[] {
    return this.changes.map((change) => change.status);
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      const status = await request(`${this.herald.url}/health/ready`, { signal: AbortSignal.timeout(5_000) }).then(
        (answer) => answer.status,
        () => 0,
      );
      if (this.changes.at(-1)?.status !== status) this.changes.push({ status, at: Date.now() });
      await sleep(100);
    }
  }
}

/**
 * A subscriber that disconnects every `holdMs` and comes back with the last id
 * it saw (an event's or a reset's), so replay runs during the failover too.
 */
class Resumer {
  readonly frames: Frame[] = [];
  readonly statuses: number[] = [];
  private client: RawSseClient | undefined;
  private running = true;
  private readonly loop: Promise<void>;

  constructor(
    private readonly herald: HeraldChild,
    private readonly holdMs = 600,
  ) {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      const lastId = this.frames.at(-1)?.id;
      const client = new RawSseClient(`${this.herald.url}/v1/events?${STREAM_QUERY}`, {
        headers: lastId === undefined ? {} : { 'last-event-id': lastId },
      });
      this.client = client;
      const status = await client.waitForStatus(10_000).catch(() => 0);
      this.statuses.push(status);
      if (status === 200) await sleep(this.holdMs);
      client.close();
      await sleep(status === 200 ? 0 : 200);
      // Only complete frames count: a frame cut by the close is sent again after the resume.
      for (const event of client.events) {
        const frame = frameOf(event);
        if (frame) this.frames.push(frame);
      }
    }
    this.client = undefined;
  }

  /** Frames so far, including those of the open connection. */
  seen(): Frame[] {
    const open = (this.client?.events ?? []).map(frameOf).filter((frame) => frame !== undefined);
    return [...this.frames, ...open];
  }
}

/**
 * The promise to a subscriber across a failover: ids only increase and none
 * comes twice; every accepted event is received exactly once, or the first
 * frame at or after its position is a `reset` (the subscriber was told it
 * missed something), never a later event (a silent gap). Returns what was
 * covered by resets, and which received events no 202 reported (their
 * publish answered 503 after Redis took them).
 */
function expectHonestTimeline(
  name: string,
  frames: Frame[],
  attempts: Attempt[],
): { received: number; coveredByReset: number; resets: number; acceptedAsUnavailable: number } {
  const byN = new Map(attempts.map((attempt) => [attempt.n, attempt]));
  const events = frames.filter((frame) => frame.kind === 'event');
  const problems: string[] = [];
  const ids = new Set<string>();
  for (const event of events) {
    if (ids.has(event.id)) problems.push(`${event.id} received twice`);
    ids.add(event.id);
  }
  for (let i = 1; i < frames.length; i++) {
    const [before, after] = [seqOf(frames[i - 1].id), seqOf(frames[i].id)];
    // A reset may repeat the id before it (nothing newer to point at); an event never goes back.
    const ordered = frames[i].kind === 'reset' ? after >= before : after > before;
    if (!ordered) problems.push(`${frames[i].kind} ${frames[i].id} after ${frames[i - 1].id}`);
  }
  let acceptedAsUnavailable = 0;
  for (const event of events) {
    const attempt = byN.get(event.n ?? -1);
    if (!attempt) problems.push(`${event.id} carries n=${event.n}, which was never published`);
    else if (attempt.status === 202 && attempt.id !== event.id) {
      problems.push(`${event.id} carries n=${event.n}, published as ${attempt.id}`);
    } else if (attempt.status !== 202) acceptedAsUnavailable++;
  }
  let coveredByReset = 0;
  for (const attempt of attempts) {
    if (attempt.status !== 202 || attempt.id === undefined || ids.has(attempt.id)) continue;
    const seq = seqOf(attempt.id);
    const next = frames.find((frame) => seqOf(frame.id) >= seq);
    if (next?.kind === 'reset') coveredByReset++;
    else problems.push(`accepted ${attempt.id} (n=${attempt.n}) missing; next frame: ${JSON.stringify(next)}`);
  }
  // On failure, the whole timeline (resets marked) says what the subscriber saw.
  const timeline =
    problems.length > 0 ? frames.map((frame) => `${frame.kind === 'reset' ? 'reset ' : ''}${frame.id}`) : [];
  expect({ name, problems: problems.slice(0, 20), timeline }).toEqual({ name, problems: [], timeline: [] });
  return {
    received: events.length,
    coveredByReset,
    resets: frames.filter((frame) => frame.kind === 'reset').length,
    acceptedAsUnavailable,
  };
}

const available = which('redis-server') !== undefined && (await redisServerStartable());

describeWith(available, 'redis-server (the suite runs its own primary, replica and Sentinels)')(
  'Redis Sentinel: failing the primary over while events flow',
  () => {
    const cleanups: (() => Promise<void> | void)[] = [];
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });

    interface Scene {
      group: SentinelGroup;
      herald: HeraldChild;
      prefix: string;
      held: RawSseClient;
      source: EventSource;
      sourceFrames: Frame[];
      resumer: Resumer;
      readiness: ReadinessWatch;
      publisher: Publisher;
    }

    /**
     * A private Sentinel group, one Herald on it (a dead Sentinel listed first:
     * it must skip it), three subscribers on both topics, a readiness watch,
     * and a publisher that runs until `settle`.
     */
    async function start(options: SentinelGroupOptions = {}): Promise<Scene> {
      const group = await SentinelGroup.start(options);
      cleanups.push(() => group.stop());
      const prefix = `herald-sentinel:${process.pid}:${Math.random().toString(36).slice(2, 8)}:`;
      const herald = await HeraldChild.start({
        BROKER: 'redis',
        REDIS_URL: group.url([`127.0.0.1:${await TcpProxy.closedPort()}`]),
        REDIS_KEY_PREFIX: prefix,
        HEARTBEAT_INTERVAL_MS: '500',
        RETRY_MS: '300',
        RETRY_AFTER_SECONDS: '2',
        LOG_LEVEL: 'info',
      });
      cleanups.push(async () => void (await herald.stop()));
      await eventually(async () => (await request(`${herald.url}/health/ready`)).status === 200, 10_000, 'ready');

      const held = new RawSseClient(`${herald.url}/v1/events?${STREAM_QUERY}`);
      cleanups.push(() => held.close());
      await held.waitForBody((body) => body.startsWith('retry:'));
      const sourceFrames: Frame[] = [];
      const source = new EventSource(`${herald.url}/v1/events?${STREAM_QUERY}`);
      cleanups.push(() => source.close());
      for (const type of ['message', 'reset']) {
        source.addEventListener(type, (event: MessageEvent<string>) => {
          const frame = frameOf({ event: type, id: event.lastEventId, data: event.data });
          if (frame) sourceFrames.push(frame);
        });
      }
      await new Promise((resolve) => source.addEventListener('open', resolve, { once: true }));
      const resumer = new Resumer(herald);
      cleanups.push(() => resumer.stop());
      const readiness = new ReadinessWatch(herald);
      cleanups.push(() => readiness.stop());
      const publisher = new Publisher(herald);
      cleanups.push(() => publisher.stop());
      await eventually(() => publisher.accepted().length >= 40, 10_000, '40 accepted publishes');
      return { group, herald, prefix, held, source, sourceFrames, resumer, readiness, publisher };
    }

    /** Waits until `count` publishes made after `since` were accepted (by the new primary). */
    function acceptedAfter(scene: Scene, since: number, count = 40): Promise<unknown> {
      return eventually(() => scene.publisher.accepted(since).length >= count, 20_000, `${count} accepted publishes`);
    }

    /**
     * Ends the scene: one more event per topic, answered 202, reaches every
     * subscriber; then each timeline and every publish answer is checked.
     */
    async function settle(scene: Scene): Promise<Record<string, ReturnType<typeof expectHonestTimeline>>> {
      const { herald, publisher } = scene;
      await publisher.stop();
      for (const topic of TOPICS) {
        const last = await publish(herald, topic, publisher.attempts.length);
        expect(last.status).toBe(202);
        publisher.attempts.push(last);
      }
      const lastSeq = seqOf(publisher.attempts.at(-1)?.id ?? '');
      const timelines: Record<string, () => Frame[]> = {
        held: () => scene.held.events.map(frameOf).filter((frame) => frame !== undefined),
        eventsource: () => scene.sourceFrames,
        resumer: () => scene.resumer.seen(),
      };
      for (const [name, frames] of Object.entries(timelines)) {
        await eventually(() => frames().some((frame) => seqOf(frame.id) >= lastSeq), 15_000, `${name} caught up`);
      }
      await scene.resumer.stop();
      // Readiness follows the broker ping (once a second): back to 200 soon after Redis is.
      await eventually(() => scene.readiness.statuses().at(-1) === 200, 5_000, 'ready again');
      await scene.readiness.stop();
      const verdicts = Object.fromEntries(
        Object.entries(timelines).map(([name, frames]) => [
          name,
          expectHonestTimeline(name, frames(), publisher.attempts),
        ]),
      );
      // Every answer was 202, or a clean 503 that says when to retry: never a 500, never no answer.
      const statuses = new Set(publisher.attempts.map((attempt) => attempt.status));
      expect([...statuses].filter((status) => status !== 202 && status !== 503)).toEqual([]);
      const unavailable = publisher.attempts.filter((attempt) => attempt.status === 503);
      expect(unavailable.filter((attempt) => !/^[1-9][0-9]*$/.test(attempt.retryAfter ?? ''))).toEqual([]);
      expect(scene.resumer.statuses.filter((status) => status !== 200 && status !== 503)).toEqual([]);
      // The held streams never ended: Herald carried them across the failover.
      expect(scene.held.ended).toBe(false);
      expect(scene.source.readyState).toBe(EventSource.OPEN);
      expect(scene.herald.running).toBe(true);
      return verdicts;
    }

    /** The node Sentinel names primary holds Herald's counter at the last id: Herald writes there. */
    async function expectCounterOnPrimary(scene: Scene): Promise<void> {
      const port = await scene.group.primaryPort();
      const node = [scene.group.primary, scene.group.replica].find((candidate) => candidate.port === port);
      expect(node).toBeDefined();
      const lastId = scene.publisher.attempts.at(-1)?.id ?? '';
      expect(Number(await node?.call('HGET', `${scene.prefix}head`, 'seq'))).toBe(seqOf(lastId));
    }

    const epochs = (attempts: Attempt[]): string[] => [
      ...new Set(attempts.flatMap((attempt) => (attempt.id ? [parseEventId(attempt.id)?.epoch ?? ''] : []))),
    ];

    it('SENTINEL FAILOVER: publishes answer 503 during the promotion, then go to the new primary; nothing lost', async () => {
      const scene = await start();
      const { group, herald, publisher } = scene;
      expect(await group.sentinels[0].call('SENTINEL', 'FAILOVER', group.name)).toBe('OK');
      await group.waitForPrimary(group.replica);
      // The demoted primary keeps taking writes until Sentinel reconfigures it, about 10 s later,
      // and then drops them: publishes must go to the new primary long before that.
      await acceptedAfter(scene, Date.now() + 500);
      const verdicts = await settle(scene);
      await expectCounterOnPrimary(scene);
      // Sentinel announces the promotion and sends REPLICAOF NO ONE on its next tick (100 ms): Herald
      // stops writing in between, so the old primary took nothing the new one lacks. One history, no reset.
      const messages = herald.logs.map((line) => line.msg);
      expect(messages.indexOf('redis primary being replaced')).toBeGreaterThan(0);
      expect(messages.indexOf('redis primary switched')).toBeGreaterThan(
        messages.indexOf('redis primary being replaced'),
      );
      expect(publisher.attempts.some((attempt) => attempt.status === 503)).toBe(true);
      expect(epochs(publisher.attempts)).toHaveLength(1);
      for (const verdict of Object.values(verdicts)) expect(verdict).toMatchObject({ coveredByReset: 0, resets: 0 });
      expect(herald.logged('redis epoch changed')).toEqual([]);
      expect(herald.stderr).toBe('');
    }, 60_000);

    it('SIGKILL of an in-sync primary: 503 and readiness 503 meanwhile, then exact resume on the new primary', async () => {
      const scene = await start();
      const { group, publisher } = scene;
      // Kill it with nothing unreplicated (publishing holds for the few ms that takes), so nothing is lost.
      await publisher.pause();
      const offsets = async (): Promise<string[]> =>
        Promise.all(
          [group.primary, group.replica].map(async (node) => {
            const info = String(await node.call('INFO', 'replication'));
            return /(?:master_repl_offset|slave_repl_offset):(\d+)/.exec(info)?.[1] ?? '?';
          }),
        );
      await eventually(async () => new Set(await offsets()).size === 1, 5_000, 'replica in sync');
      group.primary.kill('SIGKILL');
      const killed = Date.now();
      publisher.resume();
      await group.waitForPrimary(group.replica);
      await acceptedAfter(scene, Date.now());
      const verdicts = await settle(scene);
      await expectCounterOnPrimary(scene);
      // Nothing was lost, so nothing is reset: one history, every accepted event received once, in order.
      expect(epochs(publisher.attempts)).toHaveLength(1);
      for (const verdict of Object.values(verdicts)) expect(verdict).toMatchObject({ coveredByReset: 0, resets: 0 });
      expect(
        publisher.attempts.filter((attempt) => attempt.status === 503 && attempt.at > killed).length,
      ).toBeGreaterThan(0);
      // Not ready while no primary answers, ready again after: no other state in between.
      const readiness = scene.readiness.statuses();
      expect(readiness).toContain(503);
      expect(readiness.filter((status) => status !== 200 && status !== 503)).toEqual([]);
      expect([readiness[0], readiness.at(-1)]).toEqual([200, 200]);
    }, 60_000);

    it('SIGKILL of a primary whose replica missed writes: a reset where history was lost, never a silent gap', async () => {
      const scene = await start();
      const { group, herald, publisher } = scene;
      // Cut replication: the primary refuses the replica's resync, so from now on writes exist only on it.
      await group.primary.call('ACL', 'SETUSER', 'default', '-psync', '-sync');
      await group.primary.call('CLIENT', 'KILL', 'TYPE', 'replica');
      const cut = Date.now();
      await acceptedAfter(scene, cut, 30);
      await publisher.pause();
      const unreplicated = publisher.accepted(cut);
      group.primary.kill('SIGKILL');
      publisher.resume();
      await group.waitForPrimary(group.replica);
      await acceptedAfter(scene, Date.now());
      // The new primary really lacks them: its history ends before the first unreplicated id.
      const lostEpoch = parseEventId(unreplicated[0].id)?.epoch ?? '';
      const oldHistory = (await group.replica.call('XRANGE', `${scene.prefix}${lostEpoch}:log`, '-', '+')) as [
        string,
      ][];
      const kept = oldHistory.map(([id]) => Number.parseInt(id, 10));
      expect(Math.max(0, ...kept)).toBeLessThan(seqOf(unreplicated[0].id ?? ''));

      const verdicts = await settle(scene);
      await expectCounterOnPrimary(scene);
      expect(epochs(publisher.attempts)).toHaveLength(2);
      // The held streams got the unreplicated events live, then a reset for the history that is gone.
      for (const name of ['held', 'eventsource']) expect(verdicts[name].resets).toBe(1);
      const heldFrames = scene.held.events.map(frameOf).filter((frame) => frame !== undefined);
      const resetAt = heldFrames.findIndex((frame) => frame.kind === 'reset');
      expect(heldFrames.slice(0, resetAt).map((frame) => frame.id)).toEqual(
        expect.arrayContaining(unreplicated.map((attempt) => attempt.id)),
      );
      // A client resuming from a lost id is told so at once.
      const late = new RawSseClient(`${herald.url}/v1/events?${STREAM_QUERY}`, {
        headers: { 'last-event-id': unreplicated[5].id ?? '' },
      });
      cleanups.push(() => late.close());
      const [first] = await late.waitForEvents(1);
      expect(first.event).toBe('reset');
      expect(JSON.parse(first.data)).toEqual({ reason: 'history-lost', lastEventId: unreplicated[5].id });
      expect(herald.logged('redis epoch changed')).toHaveLength(1);
      expect(herald.stderr).toBe('');
    }, 60_000);
  },
);
