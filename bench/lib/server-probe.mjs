// Preloaded into every benchmarked server (`node --expose-gc --import <this>`).
// Over the IPC channel it answers: `memory` (a full GC, then heap figures, so
// memory is compared after the same collection in every server),
// `heapSnapshot` (writes one to `path`) and `exit` (a clean exit, so
// `--cpu-prof` writes its profile). It never touches the server's code and
// keeps no handle alive.
import { writeHeapSnapshot } from 'node:v8';

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
  exit() {
    setImmediate(() => process.exit(0));
    return {};
  },
};

if (process.channel) {
  process.on('message', (message) => {
    const operation = operations[message?.op];
    if (operation) process.send({ id: message.id, result: operation(message) });
  });
  // After the listener: adding a 'message' listener refs the channel again.
  process.channel.unref();
}
