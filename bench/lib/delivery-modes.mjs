// What the delivery modes of issue 18 cost, each against its own "off" in one run:
// - conflate=1 and since=latest on readers that keep up: server CPU per delivery
//   (fan-out at a fixed rate below saturation), against plain subscribers;
// - since=latest per subscribe: server CPU per connect when every topic has a
//   retained event, against the same connects without it;
// - Idempotency-Key: publish requests/s (closed loop) with a fresh key on every
//   request against none, on the memory broker and on Redis.
// Every variant runs on a fresh server, variants alternate round by round, and
// the medians are compared (the machine is shared: ratios, not absolute times).
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { cpuMs } from './proc.mjs';
import { fanoutStep } from './scenarios.mjs';
import { PUBLISH_TOKEN, startServer } from './servers.mjs';
import { Publisher } from './publisher.mjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function median(values) {
  const list = values.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
  return list.length === 0 ? null : list[Math.floor(list.length / 2)];
}

/** `100 * (with / without - 1)`: how much more the mode costs, in percent (negative: within the noise). */
function overhead(withMode, without) {
  return withMode === null || without === null ? null : 100 * (withMode / without - 1);
}

/** Fan-out to plain, conflate=1 and since=latest subscribers: the per-delivery cost of each mode for readers that keep up. */
async function perDelivery(definition, clients, plan, log) {
  const variants = { plain: '', conflate: '&conflate=1', latest: '&since=latest' };
  const runs = [];
  for (let round = 0; round < plan.rounds; round++) {
    for (const [variant, query] of Object.entries(variants)) {
      const server = await startServer(definition, { tag: `-modes-${variant}` });
      const step = await fanoutStep(server, clients, {
        subscribers: plan.subscribers,
        deliveriesPerSecond: plan.deliveriesPerSecond,
        durationMs: plan.durationMs,
        query,
      });
      await clients.closeAll();
      await server.stop();
      log(
        `Herald ${variant} fan-out: ${step.received}/${step.expected} @${plan.deliveriesPerSecond}/s, ` +
          `${step.cpuUsPerDelivery?.toFixed(2)} µs/delivery${step.held ? '' : ' ✗ did not hold'}`,
      );
      runs.push({
        variant,
        held: step.held,
        received: step.received,
        expected: step.expected,
        p99Ms: step.p99Ms,
        late: step.late,
        cpuUsPerDelivery: step.cpuUsPerDelivery,
        otherLoadPercent: step.otherLoadPercent,
      });
    }
  }
  const of = (variant) => median(runs.filter((r) => r.variant === variant && r.held).map((r) => r.cpuUsPerDelivery));
  const plain = of('plain');
  return {
    subscribers: plan.subscribers,
    deliveriesPerSecond: plan.deliveriesPerSecond,
    cpuUsPerDelivery: { plain, conflate: of('conflate'), latest: of('latest') },
    conflateOverheadPercent: overhead(of('conflate'), plain),
    latestOverheadPercent: overhead(of('latest'), plain),
    allHeld: runs.every((r) => r.held),
    runs,
  };
}

/** Server CPU per connect with and without since=latest, every topic holding one retained event. */
async function perSubscribe(definition, clients, plan, log) {
  const topics = Array.from({ length: plan.topics }, (_, i) => `bench/latest/${i}`);
  const runs = [];
  for (let round = 0; round < plan.rounds; round++) {
    for (const variant of ['plain', 'latest']) {
      const server = await startServer(definition, { tag: `-latest-${variant}` });
      const publisher = new Publisher({ host: server.host, port: server.port, token: PUBLISH_TOKEN });
      const statuses = await Promise.all(topics.map((topic) => publisher.publish(topic, `newest of ${topic}`)));
      publisher.close();
      const query = variant === 'latest' ? '&since=latest' : '';
      const paths = topics.map((topic) => `/v1/events?topic=${encodeURIComponent(topic)}${query}`);
      await sleep(500);
      const before = cpuMs(server.pid);
      const result = await clients.open({ host: server.host, port: server.port, paths, count: plan.streams });
      const connectCpuMs = cpuMs(server.pid) - before;
      await clients.closeAll();
      await server.stop();
      const cpuUsPerConnect = result.established > 0 ? (1000 * connectCpuMs) / result.established : null;
      log(
        `Herald subscribe ${variant}: ${result.established}/${plan.streams} streams, ${cpuUsPerConnect?.toFixed(0)} µs CPU per connect`,
      );
      runs.push({
        variant,
        established: result.established,
        retained: statuses.filter((s) => s === 202).length,
        cpuUsPerConnect,
      });
    }
  }
  const of = (variant) =>
    median(runs.filter((r) => r.variant === variant && r.established === plan.streams).map((r) => r.cpuUsPerConnect));
  const plain = of('plain');
  const latest = of('latest');
  return {
    streams: plan.streams,
    topics: plan.topics,
    cpuUsPerConnect: { plain, latest },
    extraUsPerSubscribe: plain === null || latest === null ? null : latest - plain,
    overheadPercent: overhead(latest, plain),
    runs,
  };
}

/** Closed loop: `publishers` keep-alive requests in flight for `seconds`; 202s per second. */
async function publishRate(server, { seconds, publishers, withKey }) {
  const agent = new Agent({ keepAlive: true, maxSockets: publishers });
  const body = JSON.stringify({ type: 'position', data: { truck: 42, lat: 52.52, lon: 13.405 } });
  const deadline = Date.now() + seconds * 1000;
  let accepted = 0;
  let other = 0;
  let sequence = 0;
  const one = () =>
    new Promise((resolve) => {
      const headers = {
        authorization: `Bearer ${PUBLISH_TOKEN}`,
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      };
      if (withKey) headers['idempotency-key'] = `bench-${process.pid}-${++sequence}`;
      const req = request(
        {
          host: server.host,
          port: server.port,
          method: 'POST',
          path: '/v1/topics/bench%2Fpublish/events',
          agent,
          headers,
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode === 202) accepted++;
            else other++;
            resolve();
          });
          res.on('error', () => {
            other++;
            resolve();
          });
        },
      );
      req.on('error', () => {
        other++;
        resolve();
      });
      req.end(body);
    });
  const startedAt = Date.now();
  await Promise.all(
    Array.from({ length: publishers }, async () => {
      while (Date.now() < deadline) await one();
    }),
  );
  agent.destroy();
  return { perSecond: Math.round(accepted / ((Date.now() - startedAt) / 1000)), other };
}

function redisReachable(url) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) || 6379 });
    socket.setTimeout(1_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** Deletes what the bench's Herald processes left in Redis under `prefix`. */
async function dropRedisKeys(url, prefix) {
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Publish requests/s with and without an Idempotency-Key, on the memory broker and (when reachable) on Redis. */
async function idempotentPublish(definition, plan, log) {
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const brokers = { memory: {} };
  const prefix = `herald-bench:${process.pid}:`;
  if (await redisReachable(redisUrl)) brokers.redis = { BROKER: 'redis', REDIS_URL: redisUrl };
  const runs = [];
  try {
    for (let round = 0; round < plan.rounds; round++) {
      for (const [broker, env] of Object.entries(brokers)) {
        for (const withKey of round % 2 === 0 ? [false, true] : [true, false]) {
          const variant = `${broker}-${withKey ? 'key' : 'nokey'}`;
          const server = await startServer(definition, {
            env: { ...env, REDIS_KEY_PREFIX: `${prefix}${round}:${variant}:` },
            tag: `-publish-${variant}`,
          });
          await publishRate(server, { seconds: 1, publishers: plan.publishers, withKey }); // warm-up
          const rate = await publishRate(server, { seconds: plan.seconds, publishers: plan.publishers, withKey });
          await server.stop();
          log(`Herald publish ${variant}: ${rate.perSecond}/s${rate.other ? ` (${rate.other} not 202)` : ''}`);
          runs.push({ broker, withKey, ...rate });
        }
      }
    }
  } finally {
    if (brokers.redis) await dropRedisKeys(redisUrl, prefix).catch(() => undefined);
  }
  const result = { publishers: plan.publishers, seconds: plan.seconds, brokers: {}, runs };
  for (const broker of Object.keys(brokers)) {
    const of = (withKey) =>
      median(runs.filter((r) => r.broker === broker && r.withKey === withKey && r.other === 0).map((r) => r.perSecond));
    const without = of(false);
    const withKey = of(true);
    result.brokers[broker] = {
      withoutKey: without,
      withKey,
      // Fewer publishes per second with a key, in percent of those without (negative: within the noise).
      lossPercent: without && withKey ? 100 * (1 - withKey / without) : null,
    };
  }
  if (!brokers.redis) result.redisSkipped = `no Redis at ${redisUrl}`;
  return result;
}

/** The three delivery-mode measurements; `plan` as in run.mjs's PLAN.full.deliveryModes. */
export async function deliveryModes(definition, clients, plan, log) {
  return {
    perDelivery: await perDelivery(definition, clients, plan.fanout, log),
    perSubscribe: await perSubscribe(definition, clients, plan.subscribe, log),
    publish: await idempotentPublish(definition, plan.publish, log),
  };
}
