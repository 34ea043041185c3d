// Baseline: SSE on bare node:http, written the way a careful engineer would by
// hand. Each event's frame is encoded once and the same Buffer is written to
// every subscriber; one interval sends heartbeats to all. No history, no limits,
// no auth on subscribe: the cheapest server that speaks Herald's two URLs.
import { createServer } from 'node:http';

const PORT = Number(process.env.PORT ?? 3000);
const HOST = process.env.HOST ?? '127.0.0.1';
const AUTHORIZATION = `Bearer ${process.env.PUBLISH_TOKEN ?? 'publisher-secret-123'}`;
const HEARTBEAT_MS = 15_000;
const STREAM_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
};
const RETRY = Buffer.from('retry: 3000\n\n');
const HEARTBEAT = Buffer.from(': hb\n\n');

/** topic -> the responses subscribed to it */
const subscribers = new Map();
const all = new Set();
let seq = 0;

function subscribe(req, res, url) {
  const topics = url.searchParams.getAll('topic');
  if (topics.length === 0) return reply(res, 400, { message: 'topic is required' });
  req.socket.setNoDelay(true);
  res.writeHead(200, STREAM_HEADERS);
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
}

function publish(req, res, topic) {
  if (req.headers.authorization !== AUTHORIZATION) return reply(res, 401, { message: 'unauthorized' });
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return reply(res, 400, { message: 'invalid JSON' });
    }
    const id = String(++seq);
    const data = typeof body.data === 'string' ? body.data : JSON.stringify(body.data);
    const frame = Buffer.from(`id: ${id}\ndata: ${data.replace(/\r\n|\r|\n/g, '\ndata: ')}\n\n`);
    const set = subscribers.get(topic);
    if (set) for (const subscriber of set) subscriber.write(frame);
    reply(res, 202, { id });
  });
}

function reply(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  if (req.method === 'GET' && url.pathname === '/v1/events') return subscribe(req, res, url);
  const match = /^\/v1\/topics\/([^/]+)\/events$/.exec(url.pathname);
  if (req.method === 'POST' && match) return publish(req, res, decodeURIComponent(match[1]));
  reply(res, 404, { message: 'not found' });
});
server.keepAliveTimeout = 65_000;
server.requestTimeout = 0;
setInterval(() => {
  for (const res of all) if (res.writableLength === 0) res.write(HEARTBEAT);
}, HEARTBEAT_MS).unref();
server.listen(PORT, HOST, () => console.log(JSON.stringify({ msg: 'listening', port: server.address().port })));
