// Preloaded into every benchmarked server (`node --expose-gc --import <this>`):
// on request over the IPC channel it runs a full GC and reports heap figures,
// so memory is compared after the same collection in every server. It never
// touches the server's code and keeps no handle alive.
if (process.channel) {
  process.on('message', (message) => {
    if (message?.op !== 'memory') return;
    globalThis.gc?.();
    globalThis.gc?.();
    const usage = process.memoryUsage();
    process.send({ id: message.id, result: { heapUsed: usage.heapUsed, heapTotal: usage.heapTotal, rss: usage.rss } });
  });
  // After the listener: adding a 'message' listener refs the channel again.
  process.channel.unref();
}
