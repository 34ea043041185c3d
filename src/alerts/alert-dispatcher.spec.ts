import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ConsoleLogger, Logger } from '@nestjs/common';
import { loadConfig } from '../config/herald-config.js';
import { JsonLogger } from '../logging/json-logger.js';
import { DeliveryError } from '../outbound/delivery-error.js';
import { AlertDispatcher, scrub, type NotificationsCounter } from './alert-dispatcher.js';
import type { AlertDelivery } from './alert-history.js';
import type { AlertNotification, ChannelConfig } from './alert-model.js';
import { ChannelDto, type AlertChannel, type SendContext } from './channels/alert-channel.js';
import { ChannelKinds } from './channels/channel-kinds.js';

const notification: AlertNotification = {
  status: 'firing',
  rule: { id: 'r', name: 'r', metric: 'active_connections', op: '>=', threshold: 1 },
  severity: 'warning',
  value: 2,
  startedAt: new Date(0).toISOString(),
  instance: 'h:1',
};

/** A channel kind whose every attempt does what `script` says for that attempt number. */
class ScriptedChannel implements AlertChannel {
  readonly dto = ChannelDto;
  readonly calls: Array<{ at: number; deliveryId: string; signal: AbortSignal }> = [];

  constructor(
    readonly kind: string,
    private readonly script: (attempt: number, context: SendContext) => Promise<void>,
  ) {}

  send(_notification: AlertNotification, _channel: ChannelConfig, context: SendContext): Promise<void> {
    this.calls.push({ at: Date.now(), deliveryId: context.deliveryId, signal: context.signal });
    return this.script(this.calls.length, context);
  }
  mask(channel: ChannelConfig): ChannelConfig {
    return channel;
  }
  keepSecrets(incoming: Record<string, unknown>): Record<string, unknown> {
    return incoming;
  }
  secrets(channel: ChannelConfig): string[] {
    return [String(channel.token)];
  }
}

function setup(channels: AlertChannel[], env: Record<string, string> = {}) {
  const counted: Array<Record<string, string>> = [];
  const counter = { inc: (labels: Record<string, string>) => counted.push(labels) } as unknown as NotificationsCounter;
  const config = loadConfig({ ALERTS_SEND_TIMEOUT_MS: '200', ALERTS_SEND_RETRIES: '2', ...env });
  const dispatcher = new AlertDispatcher(new ChannelKinds(channels), config, counter);
  const send = (...kinds: string[]) => {
    const deliveries: AlertDelivery[] = [];
    const done = dispatcher.dispatch(
      notification,
      kinds.map((kind) => ({ id: kind, name: kind, kind, enabled: true, token: 'tok-secret-1' })),
      deliveries,
    );
    return { deliveries, done };
  };
  return { dispatcher, counted, send };
}

const never = (_attempt: number, context: SendContext) =>
  new Promise<void>((_, reject) => context.signal.addEventListener('abort', () => reject(new Error('aborted'))));

describe('scrub', () => {
  it('replaces every occurrence of every secret of four characters or more', () => {
    expect(scrub('auth tok-1 failed for tok-1 at abc', ['tok-1', 'abc'])).toBe(
      'auth ******** failed for ******** at abc',
    );
  });
});

describe('AlertDispatcher', () => {
  const logged: string[] = [];
  beforeAll(() => Logger.overrideLogger(new JsonLogger('debug', (line) => logged.push(line))));
  afterAll(() => Logger.overrideLogger(new ConsoleLogger()));

  it('delivers on the first attempt and counts it', async () => {
    const ok = new ScriptedChannel('ok', async () => undefined);
    const { send, counted } = setup([ok]);
    const { deliveries, done } = send('ok');
    expect(deliveries).toEqual([expect.objectContaining({ channelId: 'ok', result: 'pending' })]);
    await done;
    expect(deliveries[0]).toMatchObject({ result: 'delivered', attempts: 1 });
    expect(deliveries[0].error).toBeUndefined();
    expect(counted).toEqual([{ channel_kind: 'ok', result: 'delivered' }]);
  });

  it('retries a retryable failure with backoff and the same delivery id, then succeeds', async () => {
    const flaky = new ScriptedChannel('flaky', async (attempt) => {
      if (attempt < 3) throw new DeliveryError('HTTP 503', true);
    });
    const { send, counted } = setup([flaky]);
    const { deliveries, done } = send('flaky');
    await done;
    expect(deliveries[0]).toMatchObject({ result: 'delivered', attempts: 3 });
    expect(new Set(flaky.calls.map((call) => call.deliveryId)).size).toBe(1);
    expect(flaky.calls[1].at - flaky.calls[0].at).toBeGreaterThanOrEqual(370);
    expect(flaky.calls[2].at - flaky.calls[1].at).toBeGreaterThanOrEqual(745);
    expect(counted).toEqual([{ channel_kind: 'flaky', result: 'delivered' }]);
  });

  it('gives up at once on a failure retrying cannot fix, and after the retries on the others', async () => {
    const rejected = new ScriptedChannel('rejected', async () => {
      throw new DeliveryError('HTTP 404', false);
    });
    const down = new ScriptedChannel('down', async () => {
      throw new DeliveryError('ECONNREFUSED', true);
    });
    const { send, counted } = setup([rejected, down], { ALERTS_SEND_RETRIES: '1' });
    const { deliveries, done } = send('rejected', 'down');
    await done;
    expect(deliveries.map((d) => [d.channelId, d.result, d.attempts, d.error])).toEqual([
      ['rejected', 'failed', 1, 'HTTP 404'],
      ['down', 'failed', 2, 'ECONNREFUSED'],
    ]);
    expect(counted).toEqual([
      { channel_kind: 'rejected', result: 'failed' },
      { channel_kind: 'down', result: 'failed' },
    ]);
  });

  it('abandons an attempt at the timeout even when the channel ignores its signal, and aborts that signal', async () => {
    const deaf = new ScriptedChannel('deaf', () => new Promise<void>(() => undefined));
    const { send } = setup([deaf], { ALERTS_SEND_RETRIES: '0' });
    const started = Date.now();
    const { deliveries, done } = send('deaf');
    await done;
    expect(Date.now() - started).toBeGreaterThanOrEqual(195);
    expect(deliveries[0]).toMatchObject({ result: 'failed', attempts: 1, error: 'timed out after 200 ms' });
    expect(deaf.calls[0].signal.aborted).toBe(true);
  });

  it('lets a fast channel finish while another hangs', async () => {
    const hanging = new ScriptedChannel('hanging', never);
    const fast = new ScriptedChannel('fast', async () => undefined);
    const { send } = setup([hanging, fast]);
    const { deliveries, done } = send('hanging', 'fast');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(deliveries.map((d) => [d.channelId, d.result])).toEqual([
      ['hanging', 'pending'],
      ['fast', 'delivered'],
    ]);
    await done;
    expect(deliveries[0]).toMatchObject({ result: 'failed', attempts: 3 });
  });

  it('scrubs the channel secrets from the recorded error', async () => {
    const leaky = new ScriptedChannel('leaky', async () => {
      throw new DeliveryError('login failed with tok-secret-1', false);
    });
    const { send } = setup([leaky]);
    const { deliveries, done } = send('leaky');
    await done;
    expect(deliveries[0].error).toBe('login failed with ********');
    const line = logged.find((entry) => entry.includes('"channelId":"leaky"'));
    expect(JSON.parse(line as string)).toMatchObject({ level: 'warn', msg: 'alert delivery failed', attempts: 1 });
    expect(logged.join('\n')).not.toContain('tok-secret-1');
  });

  it('stops in-flight deliveries and their retries at shutdown', async () => {
    const hanging = new ScriptedChannel('hanging', never);
    const { dispatcher, send } = setup([hanging], { ALERTS_SEND_TIMEOUT_MS: '60000' });
    const { deliveries, done } = send('hanging');
    await new Promise((resolve) => setTimeout(resolve, 20));
    const stopped = Date.now();
    dispatcher.onModuleDestroy();
    await done;
    expect(Date.now() - stopped).toBeLessThan(1_000);
    expect(deliveries[0]).toMatchObject({ result: 'failed', attempts: 1, error: 'Herald is shutting down' });
  });
});
