// Preloaded into every benchmarked server (`node --expose-gc --import <this>`).
// Over the IPC channel it answers: `memory` (a full GC, then heap figures, so
// memory is compared after the same collection in every server),
// `heapSnapshot` (writes one to `path`), `cpuProfileStart` / `cpuProfileStop`
// (a CPU profile of just a measured window, written to `path`). It never
// touches the server's code and keeps no handle alive.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { writeHeapSnapshot } from 'node:v8';

let profiler;

function post(method, params = {}) {
  return new Promise((resolve, reject) =>
    profiler.post(method, params, (error, result) => (error ? reject(error) : resolve(result))),
  );
}

const operations = {
  memory() {
    globalThis.gc?.();
    globalThis.gc?.();
    const usage = process.memoryUsage();
    return { heapUsed: usage.heapUsed, heapTotal: usage.heapTotal, rss: usage.rss };
  },
  heapSnapshot({ path }) {
    globalThis.gc?.();
    return { path: writeHeapSnapshot(path) };
  },
  async cpuProfileStart() {
    profiler = new Session();
    profiler.connect();
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: 200 });
    await post('Profiler.start');
    return {};
  },
  async cpuProfileStop({ path }) {
    const { profile } = await post('Profiler.stop');
    profiler.disconnect();
    writeFileSync(path, JSON.stringify(profile));
    return { path };
  },
};

if (process.channel) {
  process.on('message', async (message) => {
    const operation = operations[message?.op];
    if (operation) process.send({ id: message.id, result: await operation(message) });
  });
  // After the listener: adding a 'message' listener refs the channel again.
  process.channel.unref();
}
