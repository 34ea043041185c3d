#!/usr/bin/env node
// Herald over Redis (issue 7): what one Redis primary carries, and what a second instance adds in latency.
//
//   npm run build && node bench/redis/run.mjs [--quick] [--no-write]
//
// 1. Broker level (RedisBroker from dist/, in this process): publish throughput, single events
//    (one at a time, and 64 in flight) and batches of 100 and 1,000; Redis' own cost per script call.
// 2. Two `node dist/main.js` processes (BROKER=redis) on one Redis: HTTP publish throughput spread
//    over both, and publish -> deliver latency p50/p99 from a publish on A to a subscriber on B
//    (and, for comparison, on A itself).
// Redis at REDIS_URL (default redis://127.0.0.1:6379); keys under a fresh prefix, deleted at the end.
// All traffic is on loopback; counts and durations are bounded.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent, get, request } from 'node:http';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const args = new Set(process.argv.slice(2));
const QUICK = args.has('--quick');
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `herald-bench:${process.pid}:`;
const ADMIN_TOKEN = 'bench-admin-token-0123456789';
const PUBLISH_TOKEN = 'bench-publish-token-0123456789';
const SCALE = QUICK ? 0.25 : 1;
const n = (count) => Math.max(10, Math.round(count * SCALE));

const { RedisBroker } = await import(`${ROOT}dist/src/broker/redis.broker.js`);
const { loadConfig } = await import(`${ROOT}dist/src/config/herald-config.js`);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const now = () => performance.timeOrigin + performance.now();

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function summary(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (value) => Math.round(value * 100) / 100;
  return {
    count: sorted.length,
    p50: round(percentile(sorted, 50)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted.at(-1)),
  };
}

function payload(i) {
  return { truck: i % 500, lat: 52.52 + (i % 100) / 1000, lon: 13.405, speed: 42, note: 'bench event' };
}

/** Runs `total` calls of `task(i)` with at most `concurrency` in flight; returns events/s. */
async function throughput(total, concurrency, eventsPerCall, task) {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await task(next++);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return Math.round((total * eventsPerCall) / seconds);
}

async function scriptCost(admin) {
  const stats = await admin.info('commandstats');
  const line = stats.split('\n').find((entry) => entry.startsWith('cmdstat_evalsha:'));
  return Number(/usec_per_call=([0-9.]+)/.exec(line ?? '')?.[1] ?? NaN);
}

async function brokerLevel(admin) {
  Logger.overrideLogger(['error']);
  const broker = new RedisBroker(
    loadConfig({ ADMIN_TOKEN, BROKER: 'redis', REDIS_URL, REDIS_KEY_PREFIX: `${PREFIX}broker:`, LOG_LEVEL: 'error' }),
  );
  await broker.onModuleInit();
  const topic = (i) => `trucks/${i % 100}`;
  const one = (i) => [{ topic: topic(i), type: 'position', data: payload(i) }];
  const results = {};
  try {
    await broker.publish(one(0)); // Loads the script.
    const latencies = [];
    results.singleSequential = await throughput(n(3_000), 1, 1, async (i) => {
      const started = performance.now();
      await broker.publish(one(i));
      latencies.push(performance.now() - started);
    });
    results.singleRoundTripMs = summary(latencies);
    await admin.config('RESETSTAT');
    results.single64InFlight = await throughput(n(20_000), 64, 1, (i) => broker.publish(one(i)));
    results.redisUsecPerSingle = await scriptCost(admin);
    for (const size of [100, 1_000]) {
      await admin.config('RESETSTAT');
      const batch = (b) => Array.from({ length: size }, (_, i) => one(b * size + i)[0]);
      results[`batch${size}`] = await throughput(n(size === 100 ? 300 : 40), 1, size, (b) => broker.publish(batch(b)));
      results[`redisUsecPerBatch${size}`] = await scriptCost(admin);
    }
  } finally {
    broker.onApplicationShutdown();
  }
  return results;
}

class HeraldProcess {
  constructor(name) {
    this.name = name;
    this.child = spawn(process.execPath, [`${ROOT}dist/main.js`], {
      env: {
        PATH: process.env.PATH ?? '',
        HOST: '127.0.0.1',
        PORT: '0',
        ADMIN_TOKEN,
        PUBLISH_TOKEN,
        BROKER: 'redis',
        REDIS_URL,
        REDIS_KEY_PREFIX: `${PREFIX}http:`,
        PUBLISH_RATE_LIMIT: '100000000',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.port = new Promise((resolve, reject) => {
      let partial = '';
      this.child.stdout.on('data', (chunk) => {
        const lines = (partial + chunk.toString()).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) if (line.includes('"herald listening"')) resolve(JSON.parse(line).port);
      });
      this.child.on('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
    });
  }

  stop() {
    this.child.kill('SIGKILL');
  }
}

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

function post(port, path, body) {
  return new Promise((resolve, reject) => {
    const text = JSON.stringify(body);
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${PUBLISH_TOKEN}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(text),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 202 ? resolve() : reject(new Error(`publish ${res.statusCode}`))));
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

/** A subscriber that records, per event, the delay from the `sent` stamp in its data. */
function subscribe(port, topic, onEvent) {
  return new Promise((resolve, reject) => {
    const req = get(
      {
        host: '127.0.0.1',
        port,
        path: `/v1/events?topic=${encodeURIComponent(topic)}`,
        headers: { accept: 'text/event-stream' },
      },
      (res) => {
        res.setEncoding('utf8');
        let buffer = '';
        res.on('data', (chunk) => {
          buffer += chunk;
          let end;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const frame = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = frame.split('\n').find((line) => line.startsWith('data: '));
            if (data && frame.includes('id: ')) onEvent(JSON.parse(data.slice(6)), now());
          }
        });
        resolve(req);
      },
    );
    req.on('error', reject);
  });
}

async function twoInstances() {
  const a = new HeraldProcess('A');
  const b = new HeraldProcess('B');
  const [portA, portB] = await Promise.all([a.port, b.port]);
  const results = {};
  const streams = [];
  try {
    const onB = [];
    const onA = [];
    streams.push(await subscribe(portB, 'latency', (data, at) => onB.push(at - data.sent)));
    streams.push(await subscribe(portA, 'latency', (data, at) => onA.push(at - data.sent)));
    await sleep(300);
    // Latency at a steady, moderate rate (not under saturation): 200 events/s published on A.
    const count = n(2_000);
    const started = now();
    for (let i = 0; i < count; i++) {
      const wait = started + i * 5 - now();
      if (wait > 0) await sleep(wait);
      await post(portA, '/v1/topics/latency/events', { data: { sent: now(), i } });
    }
    await sleep(500);
    results.latencyCrossInstanceMs = summary(onB);
    results.latencySameInstanceMs = summary(onA);
    // Throughput over HTTP, publishes spread over both instances.
    const ports = [portA, portB];
    results.httpSingle32InFlight = await throughput(n(10_000), 32, 1, (i) =>
      post(ports[i % 2], `/v1/topics/trucks%2F${i % 100}/events`, { type: 'position', data: payload(i) }),
    );
    results.httpBatch100x4InFlight = await throughput(n(300), 4, 100, (b) =>
      post(
        ports[b % 2],
        '/v1/events',
        Array.from({ length: 100 }, (_, i) => ({ topic: `trucks/${i}`, type: 'position', data: payload(i) })),
      ),
    );
  } finally {
    for (const stream of streams) stream.destroy();
    a.stop();
    b.stop();
  }
  return results;
}

const admin = new Redis(REDIS_URL);
const startedLoad = loadavg()[0];
let report;
try {
  const broker = await brokerLevel(admin);
  const http = await twoInstances();
  report = {
    at: new Date().toISOString(),
    mode: QUICK ? 'quick' : 'full',
    machine: {
      cpus: cpus().length,
      cpu: cpus()[0]?.model,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
    },
    redis: (await admin.info('server')).match(/redis_version:(\S+)/)?.[1],
    loadAverage1m: { before: startedLoad, after: loadavg()[0] },
    note: 'Machine shared with other workloads while measuring; treat as a lower bound.',
    brokerEventsPerSecond: broker,
    twoInstances: http,
  };
} finally {
  const keys = await admin.keys(`${PREFIX}*`);
  for (let i = 0; i < keys.length; i += 500) await admin.del(...keys.slice(i, i + 500));
  await admin.quit();
  agent.destroy();
}

const b = report.brokerEventsPerSecond;
const h = report.twoInstances;
const markdown = [
  `Herald over Redis — ${report.at} (${report.mode}; ${report.machine.cpus} cores, ${report.machine.cpu}, Redis ${report.redis}, Node ${report.machine.node}; load avg ${report.loadAverage1m.before.toFixed(1)} → ${report.loadAverage1m.after.toFixed(1)}; ${report.note})`,
  '',
  '| measure | result |',
  '| --- | --- |',
  `| publish, 1 event per call, one at a time (broker) | ${b.singleSequential} events/s (round trip p50 ${b.singleRoundTripMs.p50} ms, p99 ${b.singleRoundTripMs.p99} ms) |`,
  `| publish, 1 event per call, 64 in flight (broker) | ${b.single64InFlight} events/s (Redis: ${b.redisUsecPerSingle} µs per script call) |`,
  `| publish, batches of 100 (broker) | ${b.batch100} events/s (Redis: ${b.redisUsecPerBatch100} µs per batch) |`,
  `| publish, batches of 1,000 (broker) | ${b.batch1000} events/s (Redis: ${b.redisUsecPerBatch1000} µs per batch) |`,
  `| HTTP publish, single events, 32 in flight over 2 instances | ${h.httpSingle32InFlight} events/s |`,
  `| HTTP publish, batches of 100, 4 in flight over 2 instances | ${h.httpBatch100x4InFlight} events/s |`,
  `| publish on A → deliver on B (200 events/s) | p50 ${h.latencyCrossInstanceMs.p50} ms, p99 ${h.latencyCrossInstanceMs.p99} ms, max ${h.latencyCrossInstanceMs.max} ms |`,
  `| publish on A → deliver on A (same run) | p50 ${h.latencySameInstanceMs.p50} ms, p99 ${h.latencySameInstanceMs.p99} ms |`,
].join('\n');
process.stdout.write(`${markdown}\n`);
if (!args.has('--no-write')) {
  const dir = `${ROOT}bench/redis/results`;
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}/latest.json`, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(`${dir}/latest.md`, `${markdown}\n`);
}
