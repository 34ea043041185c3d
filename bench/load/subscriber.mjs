// One load-client process: holds thousands of SSE streams on raw sockets and
// counts what arrives. Reads go into one shared buffer (`onread`), so a stream
// costs a socket and a small object; the body is scanned for the payload marker
// `~t<publish time µs>` only, never parsed as SSE. Driven over IPC by run.mjs.
import { connect } from 'node:net';
import { Histogram, nowUs } from '../lib/histogram.mjs';

const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);
const MARK = Buffer.from('~t', 'latin1');
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
const TILDE = 0x7e;

/** Events stamped before `sinceUs` belong to an earlier step and are only counted as stale. */
const totals = { received: 0, stale: 0, sinceUs: 0, closedByServer: 0, hist: new Histogram() };
/** Streams that got a 200 and are held open. */
const held = new Set();

class Stream {
  constructor(batch, index) {
    this.batch = batch;
    this.phase = 'head';
    this.head = null;
    this.tail = null;
    this.startedAt = Date.now();
    this.closing = false;
    this.socket = connect({
      host: batch.host,
      port: batch.port,
      localAddress: batch.addresses[index % batch.addresses.length],
      onread: { buffer: READ_BUFFER, callback: (nread, buffer) => this.onRead(nread, buffer) },
    });
    this.socket.on('error', (error) => this.onError(error));
    this.socket.on('close', () => this.onClose());
    this.socket.write(batch.requests[index % batch.requests.length]);
  }

  onRead(nread, buffer) {
    if (this.phase === 'body') {
      this.scan(buffer.subarray(0, nread));
      return;
    }
    if (this.phase !== 'head') return;
    const chunk = buffer.subarray(0, nread);
    const data = this.head ? Buffer.concat([this.head, chunk]) : chunk;
    const end = data.indexOf(HEAD_END);
    if (end === -1) {
      this.head = Buffer.from(data);
      return;
    }
    this.head = null;
    // "HTTP/1.1 200 OK": the status is bytes 9..11.
    const status = (data[9] - 48) * 100 + (data[10] - 48) * 10 + (data[11] - 48);
    if (status !== 200 || this.batch.mode === 'cycle') {
      this.phase = 'done';
      this.closing = true;
      this.socket.destroy();
      this.batch.settle(this, status === 200 ? 'ok' : `status ${status}`);
      return;
    }
    this.phase = 'body';
    held.add(this);
    this.batch.settle(this, 'ok');
    if (end + 4 < data.length) this.scan(data.subarray(end + 4));
  }

  /** Counts payload markers; a marker cut by a read boundary waits in `tail`. */
  scan(chunk) {
    let data = chunk;
    if (this.tail) {
      data = Buffer.concat([this.tail, chunk]);
      this.tail = null;
    }
    const now = nowUs();
    const hist = totals.hist;
    let at = data.indexOf(MARK);
    while (at !== -1) {
      let j = at + 2;
      let ts = 0;
      while (j < data.length && data[j] >= 48 && data[j] <= 57) ts = ts * 10 + (data[j++] - 48);
      if (j >= data.length) {
        this.tail = Buffer.from(data.subarray(at));
        return;
      }
      if (ts >= totals.sinceUs) {
        totals.received++;
        hist.record(now > ts ? now - ts : 0);
      } else totals.stale++;
      at = data.indexOf(MARK, j);
    }
    if (data.length > 0 && data[data.length - 1] === TILDE) this.tail = Buffer.from([TILDE]);
  }

  onError(error) {
    if (this.phase === 'head') {
      this.phase = 'done';
      this.batch.settle(this, error.code ?? 'error');
    }
  }

  onClose() {
    if (this.phase === 'head') {
      this.phase = 'done';
      this.batch.settle(this, 'closed before response');
    }
    if (held.delete(this) && !this.closing) totals.closedByServer++;
    this.batch.onSocketClosed();
  }
}

/** Opens `count` connections with at most `concurrency` handshakes in flight. */
class Batch {
  constructor(spec, done) {
    this.host = spec.host;
    this.port = spec.port;
    this.addresses = spec.addresses;
    this.mode = spec.mode;
    this.count = spec.count;
    this.concurrency = spec.concurrency;
    this.timeoutMs = spec.timeoutMs;
    /** No new connection is started after this (a bound on the run's length). */
    this.deadline = spec.maxDurationMs ? Date.now() + spec.maxDurationMs : Infinity;
    this.requests = spec.paths.map((path) =>
      Buffer.from(
        `GET ${path} HTTP/1.1\r\nHost: ${spec.host}:${spec.port}\r\nAccept: text/event-stream\r\n\r\n`,
        'latin1',
      ),
    );
    this.started = 0;
    this.pending = new Set();
    this.outcomes = {};
    this.established = 0;
    this.open = 0;
    this.done = done;
    this.startedAt = performance.now();
    this.sweeper = setInterval(() => this.sweep(), 250);
    if (this.count === 0) queueMicrotask(() => this.finish());
    for (let i = 0; i < Math.min(this.concurrency, this.count); i++) this.next();
  }

  next() {
    if (this.started < this.count && Date.now() > this.deadline) this.count = this.started;
    if (this.started >= this.count) return;
    const stream = new Stream(this, this.started++);
    this.open++;
    this.pending.add(stream);
  }

  settle(stream, outcome) {
    if (!this.pending.delete(stream)) return;
    if (outcome === 'ok') this.established++;
    else this.outcomes[outcome] = (this.outcomes[outcome] ?? 0) + 1;
    this.next();
    if (this.pending.size === 0 && this.started >= this.count) this.finish();
  }

  onSocketClosed() {
    this.open--;
  }

  sweep() {
    const cutoff = Date.now() - this.timeoutMs;
    for (const stream of this.pending) {
      if (stream.startedAt > cutoff) continue;
      stream.phase = 'done';
      stream.closing = true;
      stream.socket.destroy();
      this.settle(stream, 'timeout');
    }
  }

  finish() {
    clearInterval(this.sweeper);
    this.done({
      attempted: this.count,
      established: this.established,
      outcomes: this.outcomes,
      elapsedMs: performance.now() - this.startedAt,
    });
  }
}

function closeAll() {
  return new Promise((resolve) => {
    if (held.size === 0) return resolve({ closed: 0 });
    const count = held.size;
    let left = count;
    for (const stream of [...held]) {
      stream.closing = true;
      stream.socket.once('close', () => --left === 0 && resolve({ closed: count }));
      stream.socket.destroy();
    }
  });
}

const handlers = {
  open: (spec) => new Promise((resolve) => new Batch(spec, resolve)),
  reset: ({ sinceUs = 0 }) => {
    totals.sinceUs = sinceUs;
    totals.received = 0;
    totals.stale = 0;
    totals.closedByServer = 0;
    totals.hist = new Histogram();
    return {};
  },
  stats: () => ({
    open: held.size,
    received: totals.received,
    stale: totals.stale,
    closedByServer: totals.closedByServer,
    hist: totals.hist.toPairs(),
    maxUs: totals.hist.maxUs,
  }),
  close: closeAll,
};

process.on('message', async (message) => {
  const result = await handlers[message.op](message.spec ?? {});
  process.send({ id: message.id, result });
});
process.on('disconnect', () => process.exit(0));
