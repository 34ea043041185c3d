// The measurements. Each takes a running server and the load clients and
// returns plain figures; run.mjs decides which to run and writes the report.
import { nowUs } from './histogram.mjs';
import { CpuWindow, cpuMs, rssBytes } from './proc.mjs';
import { PUBLISH_TOKEN } from './servers.mjs';
import { Publisher } from './publisher.mjs';

export const FANOUT_TOPIC = 'bench/fanout';
const SERVER_CORE = 0;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function eventsPath(topic) {
  return `/v1/events?topic=${encodeURIComponent(topic)}`;
}

/** Server memory after a full GC: RSS from /proc, heap from the probe. */
async function serverMemory(server) {
  const heap = await server.memory();
  await sleep(300);
  return { rss: rssBytes(server.pid), heapUsed: heap?.heapUsed ?? null };
}

/**
 * Idle streams: opens streams up to each count in `steps` (cumulatively) and
 * reports RSS and heap per stream over the server's own baseline.
 */
export async function idleMemory(server, clients, steps, { settleMs = 2_000, idleCpu = null } = {}) {
  const paths = Array.from({ length: 100 }, (_, i) => eventsPath(`bench/idle/${i}`));
  const base = await serverMemory(server);
  const rows = [];
  let opened = 0;
  for (const target of steps) {
    const cpuBefore = cpuMs(server.pid);
    const result = await clients.open({ host: server.host, port: server.port, paths, count: target - opened });
    // The server's CPU for accepting, checking and starting each stream (the load client is on the other core).
    const connectCpuMs = cpuMs(server.pid) - cpuBefore;
    opened += result.established;
    await sleep(settleMs);
    // Idle streams should cost nothing between their heartbeats: the server's CPU over a quiet window.
    let idleCpuMs = null;
    if (idleCpu && target === idleCpu.at) {
      const idleBefore = cpuMs(server.pid);
      await sleep(idleCpu.windowMs);
      idleCpuMs = cpuMs(server.pid) - idleBefore;
    }
    const now = await serverMemory(server);
    const streams = (await clients.stats()).open;
    rows.push({
      cpuUsPerConnect: result.established > 0 ? (1000 * connectCpuMs) / result.established : null,
      idleCpuMs,
      idleCpuWindowMs: idleCpuMs === null ? null : idleCpu.windowMs,
      target,
      streams,
      failed: result.failed,
      outcomes: result.outcomes,
      connectsPerSecond: Math.round(result.attempted / (result.elapsedMs / 1000)),
      rssMb: now.rss / 1048576,
      rssPerStreamKb: (now.rss - base.rss) / streams / 1024,
      heapPerStreamKb: now.heapUsed === null ? null : (now.heapUsed - base.heapUsed) / streams / 1024,
    });
    if (result.established < target - (opened - result.established) || !server.alive) break;
  }
  await clients.closeAll();
  return { baseRssMb: base.rss / 1048576, rows };
}

/** Makes sure exactly `count` fan-out subscribers are connected (`query` is appended to their path). */
async function ensureSubscribers(server, clients, count, query = '') {
  const { open } = await clients.stats();
  if (open === count) return true;
  if (open > 0) await clients.closeAll();
  const result = await clients.open({
    host: server.host,
    port: server.port,
    paths: [eventsPath(FANOUT_TOPIC) + query],
    count,
    concurrency: 500,
  });
  await sleep(1_000);
  return result.established === count;
}

/** Waits (at most 15 s) until nothing arrives any more: a backlog left by an earlier step is gone. */
async function drained(clients) {
  const deadline = Date.now() + 15_000;
  let last = -1;
  for (;;) {
    const { received, stale } = await clients.stats();
    if (received + stale === last || Date.now() > deadline) return;
    last = received + stale;
    await sleep(500);
  }
}

/**
 * One fan-out step: `deliveriesPerSecond / subscribers` publishes per second
 * for `durationMs`, then waits until every delivery arrived or arrivals stop.
 * A step whose deliveries are more than 1 % short one second after the last
 * publish was answered has missed p99 <= 1 s already and ends there ("late").
 * Events published before the step (an earlier step's backlog) do not count.
 * `query` (e.g. '&conflate=1') is added to each subscriber's path; a series
 * that changes it must close the subscribers in between.
 */
export async function fanoutStep(server, clients, { subscribers, deliveriesPerSecond, durationMs, query = '' }) {
  if (!(await ensureSubscribers(server, clients, subscribers, query))) {
    return { subscribers, deliveriesPerSecond, held: false, error: 'could not connect all subscribers' };
  }
  await drained(clients);
  const publisher = new Publisher({ host: server.host, port: server.port, token: PUBLISH_TOKEN });
  await clients.reset(nowUs());
  const cpu = new CpuWindow(server.pid, SERVER_CORE).start();
  const clientCpuStart = clients.cpuMs() + cpuMs(process.pid);
  const published = await publisher.run({
    topic: FANOUT_TOPIC,
    perSecond: deliveriesPerSecond / subscribers,
    durationMs,
  });
  publisher.close();
  const answeredAt = Date.now();
  const expected = published.accepted * subscribers;
  let stats = await clients.stats();
  let last = -1;
  let quietSince = Date.now();
  let late = false;
  while (stats.received < expected && Date.now() < answeredAt + 10_000 && server.alive) {
    if (Date.now() - answeredAt > 1_000 && expected - stats.received > 0.01 * expected) {
      late = true;
      break;
    }
    if (stats.received !== last) {
      last = stats.received;
      quietSince = Date.now();
    } else if (Date.now() - quietSince > 2_000) break;
    await sleep(200);
    stats = await clients.stats();
  }
  const usage = cpu.stop();
  const clientCpuMs = clients.cpuMs() + cpuMs(process.pid) - clientCpuStart;
  const p99 = late ? null : stats.hist.quantileMs(0.99);
  const offered = (published.sent * subscribers) / (published.sendMs / 1000);
  const missing = Math.max(0, expected - stats.received);
  const step = {
    subscribers,
    deliveriesPerSecond,
    offeredPerSecond: Math.round(offered),
    published: published.sent,
    accepted: published.accepted,
    publishStatuses: published.statuses,
    publishSlipMs: published.maxSlipMs,
    expected,
    received: stats.received,
    /** Deliveries that never came (when not `late`); late ones are only counted as missing. */
    lost: late ? null : missing,
    late,
    missing,
    closedByServer: stats.closedByServer,
    p50Ms: stats.hist.quantileMs(0.5),
    p99Ms: p99,
    maxMs: stats.hist.maxUs / 1000,
    serverCpuPercent: usage.serverCpuPercent,
    cpuUsPerDelivery: stats.received > 0 ? (usage.serverCpuMs * 1000) / stats.received : null,
    otherLoadPercent: usage.otherPercent,
    softirqPercent: usage.softirqPercent,
    /** The load client's own CPU (subscribers and publisher): near 100 % it, not the server, is the limit. */
    clientCpuPercent: (100 * clientCpuMs) / usage.wallMs,
    alive: server.alive,
  };
  step.held =
    step.alive &&
    !late &&
    missing === 0 &&
    step.closedByServer === 0 &&
    published.accepted === published.sent &&
    p99 !== null &&
    p99 <= 1000 &&
    offered >= 0.95 * deliveriesPerSecond;
  return step;
}

/**
 * Steps the delivery rate up by `factor` from `start` until a step fails (0
 * loss and p99 <= 1 s are required), bisects `refine` times between the last
 * held and the first broken rate, then measures at half the best held rate.
 */
export async function fanoutSearch(server, clients, options) {
  const { subscribers, start, factor, maxRate, refine, durationMs, log } = options;
  const steps = [];
  const run = async (rate) => {
    const step = await fanoutStep(server, clients, { subscribers, deliveriesPerSecond: Math.round(rate), durationMs });
    steps.push(step);
    log?.(step);
    return step;
  };
  let held = null;
  let broke = null;
  for (let rate = start; rate <= maxRate && server.alive; rate *= factor) {
    const step = await run(rate);
    if (!step.held) {
      broke = step;
      break;
    }
    held = step;
  }
  for (let i = 0; i < refine && held && broke && server.alive; i++) {
    const step = await run(Math.sqrt(held.deliveriesPerSecond * broke.deliveriesPerSecond));
    if (step.held) held = step;
    else broke = step;
  }
  const half = held && server.alive ? await run(held.deliveriesPerSecond / 2) : null;
  await clients.closeAll();
  return { subscribers, held, broke, half, steps };
}

/**
 * Connection storm: `count` connects with `concurrency` handshakes in flight
 * against a server whose limit admits fewer; every one must get a 200 or a
 * 503/429, none may time out, and the server must still serve afterwards.
 */
export async function connectionStorm(server, clients, { count, concurrency, admitLimit }) {
  const cpu = new CpuWindow(server.pid, SERVER_CORE).start();
  const result = await clients.open({
    host: server.host,
    port: server.port,
    paths: [eventsPath('bench/storm')],
    count,
    concurrency,
    timeoutMs: 15_000,
  });
  const usage = cpu.stop();
  const publisher = new Publisher({ host: server.host, port: server.port, token: PUBLISH_TOKEN });
  const publishStatus = server.alive ? await publisher.publish('bench/storm', 'after the storm') : 0;
  publisher.close();
  const rssMb = server.alive ? rssBytes(server.pid) / 1048576 : null;
  await clients.closeAll();
  const refused = (result.outcomes['status 503'] ?? 0) + (result.outcomes['status 429'] ?? 0);
  const other = Object.entries(result.outcomes).filter(([outcome]) => !/^status (503|429)$/.test(outcome));
  return {
    attempted: result.attempted,
    admitted: result.established,
    admitLimit,
    refused,
    outcomes: result.outcomes,
    otherFailures: Object.fromEntries(other),
    elapsedMs: result.elapsedMs,
    connectsPerSecond: Math.round(result.attempted / (result.elapsedMs / 1000)),
    serverCpuPercent: usage.serverCpuPercent,
    otherLoadPercent: usage.otherPercent,
    alive: server.alive,
    publishAfter: publishStatus,
    rssMb,
    passed:
      server.alive && publishStatus === 202 && result.established === Math.min(count, admitLimit) && other.length === 0,
  };
}

/**
 * Churn: `cycles` connect → 200 → disconnect (fewer if `maxDurationMs` runs
 * out first), after a warm-up; RSS and heap (after a full GC) are compared
 * with the warmed-up baseline.
 */
export async function churn(server, clients, { cycles, warmup, concurrency, maxDurationMs }) {
  const spec = { host: server.host, port: server.port, paths: [eventsPath('bench/churn')], concurrency, mode: 'cycle' };
  await clients.open({ ...spec, count: warmup });
  await sleep(1_000);
  const before = await serverMemory(server);
  const cpu = new CpuWindow(server.pid, SERVER_CORE).start();
  const result = await clients.open({ ...spec, count: cycles, maxDurationMs });
  const usage = cpu.stop();
  await sleep(3_000);
  const after = await serverMemory(server);
  const rssGrowth = (after.rss - before.rss) / before.rss;
  const heapGrowth = before.heapUsed ? (after.heapUsed - before.heapUsed) / before.heapUsed : null;
  return {
    cycles,
    attempted: result.attempted,
    completed: result.established,
    outcomes: result.outcomes,
    cyclesPerSecond: Math.round(result.attempted / (result.elapsedMs / 1000)),
    serverCpuPercent: usage.serverCpuPercent,
    otherLoadPercent: usage.otherPercent,
    rssBeforeMb: before.rss / 1048576,
    rssAfterMb: after.rss / 1048576,
    heapBeforeMb: before.heapUsed / 1048576,
    heapAfterMb: after.heapUsed / 1048576,
    rssGrowthPercent: 100 * rssGrowth,
    heapGrowthPercent: heapGrowth === null ? null : 100 * heapGrowth,
    passed: server.alive && rssGrowth <= 0.05 && heapGrowth !== null && heapGrowth <= 0.05,
  };
}
