// Open-loop publisher: POST /v1/topics/{topic}/events on a fixed schedule, each
// payload carrying its *scheduled* send time (`~t<µs>~<n>~` then padding), so a
// server that is slow to accept publishes shows up as latency, not as a slower
// offered rate (no coordinated omission).
import { Agent, request } from 'node:http';
import { nowUs } from './histogram.mjs';

export class Publisher {
  constructor({ host, port, token }) {
    this.host = host;
    this.port = port;
    this.authorization = `Bearer ${token}`;
    this.agent = new Agent({ keepAlive: true, maxSockets: 32 });
    this.sequence = 0;
  }

  /** One publish; resolves to the HTTP status (0 on a network error). */
  publish(topic, data) {
    const body = JSON.stringify({ data });
    return new Promise((resolve) => {
      const req = request(
        {
          host: this.host,
          port: this.port,
          method: 'POST',
          path: `/v1/topics/${encodeURIComponent(topic)}/events`,
          agent: this.agent,
          headers: {
            authorization: this.authorization,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode));
          res.on('error', () => resolve(0));
        },
      );
      req.on('error', () => resolve(0));
      req.end(body);
    });
  }

  /** A payload of exactly `bytes` characters stamped with `scheduledUs`. */
  payload(scheduledUs, bytes) {
    const head = `~t${scheduledUs}~${++this.sequence}~`;
    return head.length >= bytes ? head : head + 'x'.repeat(bytes - head.length);
  }

  /**
   * Publishes `perSecond` events for `durationMs`, then waits for every answer.
   * Returns what was sent, accepted (202) and how far the schedule slipped.
   */
  async run({ topic, perSecond, durationMs, payloadBytes = 100 }) {
    const total = Math.max(1, Math.round((perSecond * durationMs) / 1000));
    const intervalUs = 1e6 / perSecond;
    const startUs = nowUs();
    const statuses = {};
    const answers = [];
    let sent = 0;
    let maxSlipMs = 0;
    await new Promise((resolve) => {
      const pump = () => {
        const now = nowUs();
        while (sent < total && startUs + sent * intervalUs <= now) {
          const scheduled = Math.round(startUs + sent * intervalUs);
          maxSlipMs = Math.max(maxSlipMs, (now - scheduled) / 1000);
          answers.push(this.publish(topic, this.payload(scheduled, payloadBytes)));
          sent++;
        }
        if (sent >= total) return resolve();
        const waitMs = (startUs + sent * intervalUs - nowUs()) / 1000;
        setTimeout(pump, Math.max(0, Math.min(waitMs, 20)));
      };
      pump();
    });
    const sentFor = (nowUs() - startUs) / 1000;
    for (const status of await Promise.all(answers)) statuses[status] = (statuses[status] ?? 0) + 1;
    return {
      sent,
      accepted: statuses[202] ?? 0,
      statuses,
      sendMs: sentFor,
      answeredMs: (nowUs() - startUs) / 1000,
      maxSlipMs,
      startUs,
    };
  }

  close() {
    this.agent.destroy();
  }
}
