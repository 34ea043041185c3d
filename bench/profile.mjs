#!/usr/bin/env node
// Where a server's memory and CPU go, for the benchmark's "what stands in the way".
//
//   node bench/profile.mjs heap [--server=herald] [--streams=2000]
//     heap snapshots before and after opening idle streams; prints the growth
//     per stream by constructor (count and bytes), plus RSS per stream.
//   node bench/profile.mjs cpu [--server=herald] [--subscribers=1000] [--rate=30000] [--seconds=8]
//     a CPU profile (inspector, taken in the server) of one fan-out step after a
//     warm-up step; prints the top functions by self time.
//   node bench/profile.mjs cpu --scenario=churn [--cycles=5000]
//     the same for connect → 200 → disconnect cycles (the cost of admitting a stream).
//
// Files go to .tmp/bench/profile/. Same loopback-only, bounded load as run.mjs.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LoadClients } from './lib/load-clients.mjs';
import { rssBytes } from './lib/proc.mjs';
import { p99Text } from './lib/report.mjs';
import { fanoutStep } from './lib/scenarios.mjs';
import { pinSelf, SERVERS, startServer, WORK_DIR } from './lib/servers.mjs';

const [command = 'heap', ...rest] = process.argv.slice(2);
const options = Object.fromEntries(
  rest.map((arg) => {
    const [key, value] = arg.replace(/^--/, '').split('=');
    return [key, value ?? 'true'];
  }),
);
const definition = SERVERS.find((s) => s.key === (options.server ?? 'herald'));
const dir = join(WORK_DIR, 'profile');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Self size and count per (type, constructor) of one heap snapshot. */
function heapByConstructor(path) {
  const snapshot = JSON.parse(readFileSync(path, 'utf8'));
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const width = fields.length;
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  const { nodes, strings } = snapshot;
  const totals = new Map();
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt]];
    const key = /string|number|code|bigint/.test(type) ? `(${type})` : `${type}: ${strings[nodes[i + nameAt]]}`;
    const entry = totals.get(key) ?? { count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += nodes[i + sizeAt];
    totals.set(key, entry);
  }
  return totals;
}

async function heap() {
  const streams = Number(options.streams ?? 2000);
  const server = await startServer(definition, { tag: '-profile' });
  const clients = new LoadClients(1);
  const spec = { host: server.host, port: server.port, paths: ['/v1/events?topic=profile%2Fidle'] };
  // Warm up every code path a stream takes, so only per-stream memory differs.
  await clients.open({ ...spec, count: 200 });
  await clients.closeAll();
  await sleep(1_000);
  mkdirSync(dir, { recursive: true });
  const before = join(dir, `${definition.key}-before.heapsnapshot`);
  const after = join(dir, `${definition.key}-after.heapsnapshot`);
  // RSS is read after the first snapshot too, so the snapshot's own memory is in both figures.
  await server.probe('heapSnapshot', { path: before });
  await server.memory();
  const rssBefore = rssBytes(server.pid);
  const opened = await clients.open({ ...spec, count: streams });
  await sleep(2_000);
  await server.memory();
  const rssAfter = rssBytes(server.pid);
  await server.probe('heapSnapshot', { path: after });
  await clients.closeAll();
  clients.stop();
  await server.stop();
  const a = heapByConstructor(before);
  const b = heapByConstructor(after);
  const n = opened.established;
  const rows = [...b]
    .map(([key, entry]) => {
      const old = a.get(key) ?? { count: 0, bytes: 0 };
      return { key, count: (entry.count - old.count) / n, bytes: (entry.bytes - old.bytes) / n };
    })
    .filter((row) => Math.abs(row.bytes) >= 16)
    .sort((x, y) => y.bytes - x.bytes);
  const heapPerStream = rows.reduce((sum, row) => sum + row.bytes, 0);
  console.log(`${definition.label}: ${n} idle streams`);
  console.log(`RSS per stream ${((rssAfter - rssBefore) / n / 1024).toFixed(1)} KB`);
  console.log(`heap (snapshot self sizes) per stream ${(heapPerStream / 1024).toFixed(1)} KB; by constructor:`);
  console.log('| bytes/stream | objects/stream | type: constructor |\n| ---: | ---: | --- |');
  for (const row of rows.slice(0, Number(options.top ?? 40))) {
    console.log(`| ${row.bytes.toFixed(0)} | ${row.count.toFixed(2)} | ${row.key} |`);
  }
}

async function cpu() {
  const subscribers = Number(options.subscribers ?? 1000);
  const rate = Number(options.rate ?? 30_000);
  const seconds = Number(options.seconds ?? 8);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${definition.key}-${options.scenario ?? 'fanout'}.cpuprofile`);
  const server = await startServer(definition, { tag: '-cpu-profile' });
  const clients = new LoadClients(1);
  const churnSpec = {
    host: server.host,
    port: server.port,
    paths: ['/v1/events?topic=profile%2Fchurn'],
    concurrency: 100,
    mode: 'cycle',
  };
  const fanoutSpec = { subscribers, deliveriesPerSecond: rate, durationMs: seconds * 1000 };
  // A warm-up run first (it also connects the subscribers): only the measured window is profiled.
  if (options.scenario === 'churn') await clients.open({ ...churnSpec, count: 1000 });
  else await fanoutStep(server, clients, { ...fanoutSpec, durationMs: 2000 });
  await server.probe('cpuProfileStart');
  let summary;
  if (options.scenario === 'churn') {
    const cycles = Number(options.cycles ?? 5000);
    const result = await clients.open({ ...churnSpec, count: cycles });
    summary = `${result.established}/${cycles} connect cycles at ${Math.round(cycles / (result.elapsedMs / 1000))}/s`;
  } else {
    const step = await fanoutStep(server, clients, fanoutSpec);
    summary =
      `${subscribers} subscribers @ ${rate}/s → p99 ${p99Text(step)}, ` +
      `${step.cpuUsPerDelivery?.toFixed(1)} µs CPU/delivery, ${step.received}/${step.expected} received`;
  }
  await server.probe('cpuProfileStop', { path });
  await clients.closeAll();
  clients.stop();
  await server.stop();
  const profile = JSON.parse(readFileSync(path, 'utf8'));
  const selfUs = new Map();
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const dt = profile.timeDeltas;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]);
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? `${url.replace(/^.*\/(node_modules|dist)\//, '')}:${lineNumber + 1}` : '';
    const key = `${functionName || '(anonymous)'} ${where}`.trim();
    selfUs.set(key, (selfUs.get(key) ?? 0) + (dt[i] ?? 0));
  }
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const idle = selfUs.get('(idle)') ?? 0;
  console.log(`${definition.label}: ${summary}`);
  console.log(`profile ${path}: ${(total / 1e6).toFixed(1)} s sampled, ${(idle / 1e6).toFixed(1)} s idle`);
  console.log('| self ms | % busy | function |\n| ---: | ---: | --- |');
  for (const [key, value] of [...selfUs].sort((x, y) => y[1] - x[1]).slice(0, Number(options.top ?? 30))) {
    if (key === '(idle)') continue;
    console.log(`| ${(value / 1000).toFixed(0)} | ${((100 * value) / (total - idle)).toFixed(1)} | ${key} |`);
  }
}

pinSelf(1);
await (command === 'cpu' ? cpu() : heap());
