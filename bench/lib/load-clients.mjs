// The orchestrator's handle on the load-client processes (bench/load/subscriber.mjs).
// One process may hold ~20,000 fds, so streams are spread over several, each with
// its own source addresses (127.0.0.2, …: one source IP has ~28k ephemeral ports).
import { fork } from 'node:child_process';
import { Histogram } from './histogram.mjs';
import { cpuMs } from './proc.mjs';

const SUBSCRIBER = new URL('../load/subscriber.mjs', import.meta.url);
const ADDRESSES_PER_PROCESS = 8;

export class LoadClients {
  constructor(processes) {
    this.nextId = 0;
    this.waiting = new Map();
    this.children = Array.from({ length: processes }, (_, k) => {
      const child = fork(SUBSCRIBER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      child.on('message', (message) => {
        const resolve = this.waiting.get(message.id);
        this.waiting.delete(message.id);
        resolve?.(message.result);
      });
      const addresses = Array.from(
        { length: ADDRESSES_PER_PROCESS },
        (_, i) => `127.0.0.${2 + k * ADDRESSES_PER_PROCESS + i}`,
      );
      return { child, addresses };
    });
  }

  request(child, op, spec) {
    const id = ++this.nextId;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      child.send({ id, op, spec });
    });
  }

  all(op, specFor = () => ({})) {
    return Promise.all(this.children.map((entry, k) => this.request(entry.child, op, specFor(entry, k))));
  }

  /**
   * Opens `count` connections spread evenly over the processes. `mode: 'hold'`
   * keeps every 200 open; `'cycle'` closes each as soon as its head arrives (churn).
   */
  async open({ host, port, paths, count, concurrency = 500, mode = 'hold', timeoutMs = 10_000, maxDurationMs = 0 }) {
    const n = this.children.length;
    const results = await this.all('open', (entry, k) => ({
      host,
      port,
      paths,
      mode,
      timeoutMs,
      maxDurationMs,
      addresses: entry.addresses,
      count: Math.floor(count / n) + (k < count % n ? 1 : 0),
      concurrency: Math.max(1, Math.round(concurrency / n)),
    }));
    const merged = { attempted: 0, established: 0, outcomes: {}, elapsedMs: 0 };
    for (const result of results) {
      merged.attempted += result.attempted;
      merged.established += result.established;
      merged.elapsedMs = Math.max(merged.elapsedMs, result.elapsedMs);
      for (const [outcome, value] of Object.entries(result.outcomes)) {
        merged.outcomes[outcome] = (merged.outcomes[outcome] ?? 0) + value;
      }
    }
    merged.failed = merged.attempted - merged.established;
    return merged;
  }

  /** Zeroes the counters; events stamped before `sinceUs` will not count. */
  async reset(sinceUs = 0) {
    await this.all('reset', () => ({ sinceUs }));
  }

  async stats() {
    const results = await this.all('stats');
    const hist = new Histogram();
    const merged = { open: 0, received: 0, stale: 0, closedByServer: 0, hist };
    for (const result of results) {
      merged.open += result.open;
      merged.received += result.received;
      merged.stale += result.stale;
      merged.closedByServer += result.closedByServer;
      hist.addPairs(result.hist, result.maxUs);
    }
    return merged;
  }

  /** CPU time used by all load-client processes so far, ms. */
  cpuMs() {
    return this.children.reduce((sum, { child }) => sum + cpuMs(child.pid), 0);
  }

  async closeAll() {
    await this.all('close');
  }

  stop() {
    for (const { child } of this.children) child.disconnect();
  }
}
