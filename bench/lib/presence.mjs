// What presence tracking (issue 17) costs, against PRESENCE=off in one run:
// - connects: server CPU per connect and connects/s while opening streams over
//   many topics (every connect and disconnect counts per topic);
// - deliveries: server CPU per delivery, fan-out at a fixed rate below
//   saturation (presence must cost nothing per delivery).
// Fresh server per variant, variants alternate round by round, medians compared.
import { cpuMs } from './proc.mjs';
import { fanoutStep } from './scenarios.mjs';
import { startServer } from './servers.mjs';

function median(values) {
  const list = values.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
  return list.length === 0 ? null : list[Math.floor(list.length / 2)];
}

const overhead = (on, off) => (on === null || off === null ? null : 100 * (on / off - 1));

export async function presenceOnOff(definition, clients, plan, log) {
  const topics = Array.from({ length: plan.topics }, (_, i) => `bench/presence/${i}`);
  const paths = topics.map((topic) => `/v1/events?topic=${encodeURIComponent(topic)}`);
  const runs = [];
  for (let round = 0; round < plan.rounds; round++) {
    for (const variant of ['off', 'on']) {
      const server = await startServer(definition, {
        tag: `-presence-${variant}`,
        env: { PRESENCE: variant, ...(plan.env ?? {}) },
      });
      const before = cpuMs(server.pid);
      const opened = await clients.open({ host: server.host, port: server.port, paths, count: plan.streams });
      const connectCpuMs = cpuMs(server.pid) - before;
      await clients.closeAll();
      const step = await fanoutStep(server, clients, {
        subscribers: plan.subscribers,
        deliveriesPerSecond: plan.deliveriesPerSecond,
        durationMs: plan.durationMs,
      });
      await clients.closeAll();
      await server.stop();
      const run = {
        variant,
        established: opened.established,
        connectsPerSecond: opened.elapsedMs > 0 ? (1000 * opened.established) / opened.elapsedMs : null,
        cpuUsPerConnect: opened.established > 0 ? (1000 * connectCpuMs) / opened.established : null,
        held: step.held,
        cpuUsPerDelivery: step.cpuUsPerDelivery,
      };
      log(
        `Herald PRESENCE=${variant}: ${run.established}/${plan.streams} streams at ${run.connectsPerSecond?.toFixed(0)}/s, ` +
          `${run.cpuUsPerConnect?.toFixed(0)} µs CPU per connect; fan-out ${step.cpuUsPerDelivery?.toFixed(2)} µs/delivery` +
          `${step.held ? '' : ' ✗ did not hold'}`,
      );
      runs.push(run);
    }
  }
  const of = (variant, field, keep = () => true) =>
    median(runs.filter((r) => r.variant === variant && keep(r)).map((r) => r[field]));
  const full = (r) => r.established === plan.streams;
  const result = {
    streams: plan.streams,
    topics: plan.topics,
    subscribers: plan.subscribers,
    deliveriesPerSecond: plan.deliveriesPerSecond,
    connectsPerSecond: { on: of('on', 'connectsPerSecond', full), off: of('off', 'connectsPerSecond', full) },
    cpuUsPerConnect: { on: of('on', 'cpuUsPerConnect', full), off: of('off', 'cpuUsPerConnect', full) },
    cpuUsPerDelivery: {
      on: of('on', 'cpuUsPerDelivery', (r) => r.held),
      off: of('off', 'cpuUsPerDelivery', (r) => r.held),
    },
    runs,
  };
  const { on, off } = result.connectsPerSecond;
  result.connectRateLossPercent = on === null || off === null ? null : 100 * (1 - on / off);
  result.connectCpuOverheadPercent = overhead(result.cpuUsPerConnect.on, result.cpuUsPerConnect.off);
  result.deliveryOverheadPercent = overhead(result.cpuUsPerDelivery.on, result.cpuUsPerDelivery.off);
  return result;
}
