// Baseline: a bare Express 5 SSE handler, what Herald's stack costs before
// Nest and Herald add anything: express routing, req/res as Express makes
// them, `res.write` per frame (encoded once, shared), one heartbeat interval.
// No history, no limits, no auth: the floor of an Express-based server.
import express from 'express';

const PORT = Number(process.env.PORT ?? 3000);
const HOST = process.env.HOST ?? '127.0.0.1';
const AUTHORIZATION = `Bearer ${process.env.PUBLISH_TOKEN ?? 'publisher-secret-123'}`;
const HEARTBEAT_MS = 15_000;
const RETRY = Buffer.from('retry: 3000\n\n');
const HEARTBEAT = Buffer.from(': hb\n\n');

/** topic -> the responses subscribed to it */
const subscribers = new Map();
const all = new Set();
let seq = 0;

const app = express();
app.disable('x-powered-by');

app.get('/v1/events', (req, res) => {
  const raw = req.query.topic;
  const topics = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  if (topics.length === 0) return res.status(400).json({ message: 'topic is required' });
  req.socket.setNoDelay(true);
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write(RETRY);
  all.add(res);
  for (const topic of topics) {
    let set = subscribers.get(topic);
    if (!set) subscribers.set(topic, (set = new Set()));
    set.add(res);
  }
  res.on('close', () => {
    all.delete(res);
    for (const topic of topics) {
      const set = subscribers.get(topic);
      set?.delete(res);
      if (set?.size === 0) subscribers.delete(topic);
    }
  });
});

app.post('/v1/topics/:topic/events', express.json(), (req, res) => {
  if (req.headers.authorization !== AUTHORIZATION) return res.status(401).json({ message: 'unauthorized' });
  const id = String(++seq);
  const body = req.body ?? {};
  const data = typeof body.data === 'string' ? body.data : JSON.stringify(body.data);
  const frame = Buffer.from(`id: ${id}\ndata: ${data.replace(/\r\n|\r|\n/g, '\ndata: ')}\n\n`);
  const set = subscribers.get(req.params.topic);
  if (set) for (const subscriber of set) subscriber.write(frame);
  res.status(202).json({ id });
});

const server = app.listen(PORT, HOST, () =>
  console.log(JSON.stringify({ msg: 'listening', port: server.address().port })),
);
server.keepAliveTimeout = 65_000;
server.requestTimeout = 0;
setInterval(() => {
  for (const res of all) if (res.writableLength === 0) res.write(HEARTBEAT);
}, HEARTBEAT_MS).unref();
