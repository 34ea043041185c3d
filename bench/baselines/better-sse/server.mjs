// Baseline: better-sse 0.16 on node:http, used as its guide shows: one Session
// per connection, one Channel per topic, `channel.broadcast()` per published
// event (better-sse serializes and writes per session).
import { createServer } from 'node:http';
import { createChannel, createSession } from 'better-sse';

const PORT = Number(process.env.PORT ?? 3000);
const HOST = process.env.HOST ?? '127.0.0.1';
const AUTHORIZATION = `Bearer ${process.env.PUBLISH_TOKEN ?? 'publisher-secret-123'}`;

/** topic -> Channel */
const channels = new Map();
let seq = 0;

function channel(topic) {
  let found = channels.get(topic);
  if (!found) channels.set(topic, (found = createChannel()));
  return found;
}

async function subscribe(req, res, url) {
  const topics = url.searchParams.getAll('topic');
  if (topics.length === 0) return reply(res, 400, { message: 'topic is required' });
  req.socket.setNoDelay(true);
  const session = await createSession(req, res, { retry: 3000, keepAlive: 15_000 });
  for (const topic of topics) channel(topic).register(session);
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
    channels.get(topic)?.broadcast(body.data, 'message', { eventId: id });
    reply(res, 202, { id });
  });
}

function reply(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  if (req.method === 'GET' && url.pathname === '/v1/events') return void subscribe(req, res, url);
  const match = /^\/v1\/topics\/([^/]+)\/events$/.exec(url.pathname);
  if (req.method === 'POST' && match) return publish(req, res, decodeURIComponent(match[1]));
  reply(res, 404, { message: 'not found' });
});
server.keepAliveTimeout = 65_000;
server.requestTimeout = 0;
server.listen(PORT, HOST, () => console.log(JSON.stringify({ msg: 'listening', port: server.address().port })));
