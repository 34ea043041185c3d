#!/usr/bin/env node
// Herald beside the alternatives, on one machine, in one run.
//
//   npm run bench        quick (< 3 min): 1k idle streams, fan-out to 1,000 subscribers at a few rates
//   npm run bench:full   the targets of issue 9 (< 15 min): idle RSS at 10k and at the fd limit,
//                        highest sustained fan-out at 1,000 and 10,000 subscribers, connection storm,
//                        churn, monitoring on/off, the delivery modes of issue 18 and presence (17) on/off (< 20 min)
//
// Options: --only=herald,hand-tuned (servers to run), --no-write (print only),
// --out=<dir> (default bench/results), --wait-quiet=<s> (first wait up to s seconds
// for both cores to be nearly idle). HERALD_DIST=<dir> runs Herald from another build.
// All load is on loopback (127.0.0.0/8), bounded in count and time.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LoadClients } from './lib/load-clients.mjs';
import { coreTimes, loadAverage, machine } from './lib/proc.mjs';
import { p99Text, verdict, writeReport } from './lib/report.mjs';
import { deliveryModes } from './lib/delivery-modes.mjs';
import { presenceOnOff } from './lib/presence.mjs';
import { churn, connectionStorm, fanoutSearch, fanoutStep, idleMemory } from './lib/scenarios.mjs';
import { HERALD_ENV, pinning, pinSelf, ROOT, SERVERS, startServer } from './lib/servers.mjs';

const args = new Map(
  process.argv.slice(2).map((arg) => {
    const [key, value] = arg.replace(/^--/, '').split('=');
    return [key, value ?? true];
  }),
);
const mode = args.has('full') ? 'full' : 'quick';
const only = typeof args.get('only') === 'string' ? args.get('only').split(',') : null;
const outDir = typeof args.get('out') === 'string' ? args.get('out') : join(ROOT, 'bench', 'results');

/** The server's fd limit decides how many streams one server process can hold. */
const FD_HEADROOM = 200;
const MAX_IDLE_STREAMS = 50_000;

const PLAN = {
  quick: {
    idleSteps: [1_000],
    idleCpu: { at: 1_000, windowMs: 3_000 },
    fanout: [{ subscribers: 1_000, rates: [10_000, 25_000, 50_000, 100_000], durationMs: 2_500 }],
    fixed: [{ subscribers: 1_000, deliveriesPerSecond: 10_000, durationMs: 3_000 }],
  },
  full: {
    idleSteps: [1_000, 10_000, 'max'],
    idleCpu: { at: 10_000, windowMs: 10_000 },
    // Fixed rates below saturation, where CPU per delivery and p99 compare like for like.
    fixed: [
      { subscribers: 1_000, deliveriesPerSecond: 10_000, durationMs: 6_000 },
      { subscribers: 10_000, deliveriesPerSecond: 10_000, durationMs: 6_000 },
    ],
    fanout: [
      { subscribers: 1_000, start: 10_000, factor: 1.5, refine: 1, durationMs: 3_000 },
      { subscribers: 10_000, start: 10_000, factor: 1.5, refine: 1, durationMs: 3_000 },
    ],
    storm: { count: 20_000, concurrency: 2_000, maxConnections: 10_000 },
    churn: { cycles: 100_000, warmup: 5_000, concurrency: 200, maxDurationMs: 180_000 },
    // A rate well below saturation, where events are not batched, so CPU per delivery is comparable.
    monitoring: { subscribers: 1_000, deliveriesPerSecond: 10_000, rounds: 3, durationMs: 6_000 },
    // conflate=1 / since=latest / Idempotency-Key against their "off", fresh servers, alternating (bench/lib/delivery-modes.mjs).
    deliveryModes: {
      fanout: { subscribers: 1_000, deliveriesPerSecond: 10_000, rounds: 3, durationMs: 5_000 },
      subscribe: { streams: 2_000, topics: 100, rounds: 3 },
      publish: { publishers: 32, seconds: 4, rounds: 3 },
    },
    // PRESENCE=on against PRESENCE=off, fresh servers, alternating (bench/lib/presence.mjs).
    presence: {
      streams: 4_000,
      topics: 200,
      subscribers: 1_000,
      deliveriesPerSecond: 10_000,
      durationMs: 5_000,
      rounds: 3,
    },
  },
}[mode];

function log(message) {
  process.stdout.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

function describeStep(step) {
  if (step.error) return `${step.deliveriesPerSecond}/s: ${step.error}`;
  return (
    `${step.subscribers} subs @ ${step.deliveriesPerSecond}/s: received ${step.received}/${step.expected}` +
    ` p99 ${p99Text(step)}, ${step.cpuUsPerDelivery?.toFixed(1)} µs/delivery, server CPU ` +
    `${step.serverCpuPercent.toFixed(0)} %, others on core 0 ${step.otherLoadPercent.toFixed(0)} %, client CPU ` +
    `${step.clientCpuPercent.toFixed(0)} %` +
    `${step.held ? '' : `  ✗ ${verdict(step)}`}`
  );
}

function fdLimit(server) {
  const limits = /Max open files\s+(\d+)/.exec(readLimits(server.pid));
  return limits ? Number(limits[1]) : 1024;
}

function readLimits(pid) {
  try {
    return readFileSync(`/proc/${pid}/limits`, 'latin1');
  } catch {
    return '';
  }
}

async function measureServer(definition, clients) {
  const result = { label: definition.label, idle: null, fanout: [] };
  let server = await startServer(definition);
  log(`${definition.label}: started (pid ${server.pid}, port ${server.port})`);
  const maxStreams = Math.min(MAX_IDLE_STREAMS, fdLimit(server) - server.openFds() - FD_HEADROOM);
  const steps = PLAN.idleSteps.map((step) => (step === 'max' ? maxStreams : step));
  result.idle = await idleMemory(server, clients, steps, { idleCpu: PLAN.idleCpu });
  result.idle.fdLimitedMax = maxStreams;
  result.idle.fdLimit = fdLimit(server);
  for (const row of result.idle.rows) {
    log(
      `${definition.label}: ${row.streams} idle streams → ${row.rssPerStreamKb.toFixed(1)} KB RSS, ` +
        `${row.heapPerStreamKb?.toFixed(1)} KB heap per stream (${row.connectsPerSecond} connects/s, ` +
        `${row.cpuUsPerConnect?.toFixed(0)} µs server CPU per connect` +
        `${row.idleCpuMs === null ? '' : `, ${row.idleCpuMs} ms CPU idle over ${row.idleCpuWindowMs / 1000} s`})`,
    );
  }
  result.fixed = [];
  for (const plan of PLAN.fixed) {
    await server.stop();
    server = await startServer(definition);
    const step = await fanoutStep(server, clients, plan);
    await clients.closeAll();
    log(`${definition.label}: fixed ${describeStep(step)}`);
    result.fixed.push(step);
  }
  for (const plan of PLAN.fanout) {
    // A fresh process per fan-out series: what one series leaves behind never weighs on the next.
    await server.stop();
    server = await startServer(definition);
    if (plan.rates) {
      const steps = [];
      for (const rate of plan.rates) {
        const step = await fanoutStep(server, clients, {
          subscribers: plan.subscribers,
          deliveriesPerSecond: rate,
          durationMs: plan.durationMs,
        });
        log(`${definition.label}: ${describeStep(step)}`);
        steps.push(step);
        if (!step.held || !server.alive) break;
      }
      await clients.closeAll();
      const held = steps.filter((s) => s.held).at(-1) ?? null;
      result.fanout.push({ subscribers: plan.subscribers, held, broke: steps.find((s) => !s.held) ?? null, steps });
    } else {
      const search = await fanoutSearch(server, clients, {
        ...plan,
        maxRate: 1_000_000,
        log: (step) => log(`${definition.label}: ${describeStep(step)}`),
      });
      result.fanout.push(search);
    }
  }
  result.exit = await server.stop();
  return result;
}

async function measureHeraldOnly(definition, clients) {
  const extra = {};
  const { storm: stormPlan, churn: churnPlan, monitoring } = PLAN;

  let server = await startServer(definition, {
    env: { MAX_CONNECTIONS: String(stormPlan.maxConnections) },
    tag: '-storm',
  });
  const admitLimit = Math.floor(0.9 * stormPlan.maxConnections);
  extra.storm = await connectionStorm(server, clients, { ...stormPlan, admitLimit });
  log(
    `Herald storm: ${extra.storm.attempted} connects at ${extra.storm.connectsPerSecond}/s → ${extra.storm.admitted} ` +
      `admitted (limit ${admitLimit}), ${extra.storm.refused} refused, other ${JSON.stringify(extra.storm.otherFailures)}`,
  );
  await server.stop();

  server = await startServer(definition, { tag: '-churn' });
  extra.churn = await churn(server, clients, churnPlan);
  log(
    `Herald churn: ${extra.churn.completed}/${extra.churn.attempted} of ${extra.churn.cycles} cycles at ${extra.churn.cyclesPerSecond}/s, RSS ` +
      `${extra.churn.rssBeforeMb.toFixed(1)} → ${extra.churn.rssAfterMb.toFixed(1)} MB, heap ` +
      `${extra.churn.heapBeforeMb.toFixed(1)} → ${extra.churn.heapAfterMb.toFixed(1)} MB`,
  );
  await server.stop();

  extra.monitoring = await monitoringOnOff(definition, clients, monitoring);
  extra.deliveryModes = await deliveryModes(definition, clients, PLAN.deliveryModes, log);
  extra.presence = await presenceOnOff(definition, clients, PLAN.presence, log);
  return extra;
}

/**
 * Monitoring on (default SNAPSHOT_INTERVAL_MS) vs off (an hour between
 * snapshots: there is no switch to turn the module off): the same fan-out
 * rate on fresh servers, alternating, compared by the median server CPU per
 * delivery (what bounds the deliveries one core can make).
 */
async function monitoringOnOff(definition, clients, plan) {
  const variants = { on: {}, off: { SNAPSHOT_INTERVAL_MS: '3600000' } };
  const runs = [];
  const rate = plan.deliveriesPerSecond;
  for (let round = 0; round < plan.rounds; round++) {
    for (const [name, env] of Object.entries(variants)) {
      const server = await startServer(definition, { env, tag: `-monitoring-${name}` });
      const step = await fanoutStep(server, clients, {
        subscribers: plan.subscribers,
        deliveriesPerSecond: rate,
        durationMs: plan.durationMs,
      });
      await clients.closeAll();
      await server.stop();
      log(`Herald monitoring ${name}: ${describeStep(step)}`);
      runs.push({ variant: name, ...step });
    }
  }
  const median = (name) => {
    const list = runs.filter((r) => r.variant === name && r.cpuUsPerDelivery).map((r) => r.cpuUsPerDelivery);
    list.sort((a, b) => a - b);
    return list[Math.floor(list.length / 2)];
  };
  const on = median('on');
  const off = median('off');
  return {
    deliveriesPerSecond: rate,
    cpuUsPerDeliveryOn: on,
    cpuUsPerDeliveryOff: off,
    // Deliveries per CPU second are what bounds the sustainable rate on one core.
    capacityLossPercent: 100 * (1 - off / on),
    runs,
  };
}

/** Which Herald was measured: the commit of this checkout, or HERALD_DIST and the commit it says it is. */
function heraldBuild() {
  if (process.env.HERALD_DIST) return `${process.env.HERALD_DIST} (commit ${process.env.HERALD_COMMIT ?? 'not given'})`;
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'libs'], { cwd: ROOT, encoding: 'utf8' });
    return `dist/ built from ${commit}${dirty.trim() ? ' plus uncommitted changes in src/ or libs/' : ''}`;
  } catch {
    return 'dist/';
  }
}

/** Busy share of each core over `ms`, from /proc/stat. */
async function coreBusy(ms) {
  const before = [0, 1].map(coreTimes);
  await new Promise((resolve) => setTimeout(resolve, ms));
  return [0, 1].map((core, i) => {
    const after = coreTimes(core);
    const total = after.total - before[i].total;
    return total > 0 ? (100 * (after.busy - before[i].busy)) / total : 0;
  });
}

/** Waits (bounded) until other work leaves both cores nearly idle, so figures are comparable. */
async function waitQuiet(seconds) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const busy = await coreBusy(5_000);
    if (busy.every((b) => b < 25) || Date.now() > deadline) {
      log(`cores busy ${busy.map((b) => `${b.toFixed(0)} %`).join(' / ')} before the run`);
      return;
    }
  }
}

async function main() {
  pinSelf(1);
  if (args.has('wait-quiet')) await waitQuiet(Number(args.get('wait-quiet')) || 600);
  const startedAt = new Date();
  const results = {
    mode,
    startedAt: startedAt.toISOString(),
    machine: machine(),
    pinning: pinning(),
    loadBefore: loadAverage(),
    servers: {},
  };
  log(
    `${mode} run: ${results.machine.cpu}, ${results.machine.cores} cores, ${results.pinning}, load ${results.loadBefore}`,
  );
  const clients = new LoadClients(2);
  const selected = SERVERS.filter((definition) => !only || only.includes(definition.key));
  try {
    for (const definition of selected) {
      results.servers[definition.key] = await measureServer(definition, clients);
    }
    const herald = selected.find((definition) => definition.key === 'herald');
    if (mode === 'full' && herald) {
      results.herald = await measureHeraldOnly(herald, clients);
    }
  } finally {
    clients.stop();
  }
  results.finishedAt = new Date().toISOString();
  results.loadAfter = loadAverage();
  results.durationS = Math.round((Date.now() - startedAt.getTime()) / 1000);
  results.heraldEnv = HERALD_ENV;
  results.heraldBuild = heraldBuild();
  const table = writeReport(results, args.has('no-write') ? null : outDir);
  process.stdout.write(`\n${table}\n`);
  log(`done in ${results.durationS} s${args.has('no-write') ? '' : `; report in ${outDir}`}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
