import { describe, expect, it } from '@jest/globals';
import { HealthIndicatorService } from '@nestjs/terminus';
import { BROKER_PING_INTERVAL_MS, BROKER_PING_TIMEOUT_MS, BrokerHealthIndicator } from './broker.health.js';
import type { EventBroker } from './event-broker.js';

/** A broker whose `ping` does what the test says: answer, fail, or never settle. */
function brokerWhosePing(ping: () => Promise<void>): EventBroker {
  return { kind: 'redis', ping } as unknown as EventBroker;
}

const indicator = (broker: EventBroker) => new BrokerHealthIndicator(broker, new HealthIndicatorService());

describe('BrokerHealthIndicator', () => {
  it('is down before the first ping, up after one answered', async () => {
    const subject = indicator(brokerWhosePing(() => Promise.resolve()));
    expect(subject.isReachable().broker).toMatchObject({ status: 'down', message: 'not pinged yet' });
    expect(subject.hasConnected().broker.status).toBe('down');
    await subject.refresh();
    expect(subject.isReachable().broker).toMatchObject({ status: 'up', kind: 'redis' });
    expect(subject.hasConnected().broker.status).toBe('up');
  });

  it('is down when the ping fails, with the reason', async () => {
    const subject = indicator(brokerWhosePing(() => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:1'))));
    await subject.refresh();
    expect(subject.isReachable().broker).toMatchObject({ status: 'down', message: 'connect ECONNREFUSED 127.0.0.1:1' });
    expect(subject.hasConnected().broker.status).toBe('down');
  });

  it('turns a hung broker into down after the ping timeout, not a hang', async () => {
    const subject = indicator(brokerWhosePing(() => new Promise<void>(() => undefined)));
    const started = Date.now();
    await subject.refresh();
    const tookMs = Date.now() - started;
    expect(tookMs).toBeGreaterThanOrEqual(BROKER_PING_TIMEOUT_MS - 50);
    expect(tookMs).toBeLessThan(BROKER_PING_TIMEOUT_MS + 1_000);
    expect(subject.isReachable().broker).toMatchObject({
      status: 'down',
      message: `timeout of ${BROKER_PING_TIMEOUT_MS}ms exceeded`,
    });
  });

  it('answers a probe from the last ping without pinging again', async () => {
    let pings = 0;
    const subject = indicator(
      brokerWhosePing(() => {
        pings++;
        return Promise.resolve();
      }),
    );
    await subject.refresh();
    for (let i = 0; i < 100; i++) subject.isReachable();
    expect(pings).toBe(1);
  });

  it('is down when the last answer is too old (the pinger stalled)', async () => {
    const subject = indicator(brokerWhosePing(() => Promise.resolve()));
    await subject.refresh();
    const staleAt = Date.now() + BROKER_PING_INTERVAL_MS + 2 * BROKER_PING_TIMEOUT_MS + 100;
    expect(subject.isReachable(staleAt).broker).toMatchObject({ status: 'down' });
    expect(String(subject.isReachable(staleAt).broker.message)).toMatch(/^no answer for \d+ ms$/);
  });

  it('stays connected for the startup probe after the broker drops later', async () => {
    let up = true;
    const subject = indicator(brokerWhosePing(() => (up ? Promise.resolve() : Promise.reject(new Error('gone')))));
    await subject.refresh();
    up = false;
    await subject.refresh();
    expect(subject.isReachable().broker.status).toBe('down');
    expect(subject.hasConnected().broker.status).toBe('up');
  });
});
