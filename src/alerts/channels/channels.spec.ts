import { afterEach, describe, expect, it } from '@jest/globals';
import { ConsoleLogger, Logger } from '@nestjs/common';
import { createHmac } from 'node:crypto';
import { JsonLogger } from '../../logging/json-logger.js';
import { MASK, type AlertNotification, type ChannelConfig } from '../alert-model.js';
import { EmailChannel, emailMessage } from './email.channel.js';
import { LogChannel } from './log.channel.js';
import { formatValue, headline } from './notification-text.js';
import { SlackChannel, slackMessage } from './slack.channel.js';
import { webhookSignature } from '../../outbound/signed-webhook.js';
import { WebhookChannel } from './webhook.channel.js';

const notification: AlertNotification = {
  status: 'firing',
  rule: { id: 'cap', name: 'Capacity <high> & rising', metric: 'capacity_ratio', op: '>=', threshold: 0.9 },
  severity: 'critical',
  value: 0.93456789,
  startedAt: '2026-01-02T03:04:05.678Z',
  instance: 'herald-1:3000',
};

const base = { id: 'c1', name: 'n', enabled: true };

describe('notification text', () => {
  it.each([
    [3, '3'],
    [0.93456789, '0.9346'],
    [1234.56, '1235'],
    [0.0001234567, '0.0001235'],
    [-2.5, '-2.5'],
  ])('formats %d as %s', (value, text) => {
    expect(formatValue(value)).toBe(text);
  });

  it('says status, severity, rule, metric, value and threshold in one headline', () => {
    expect(headline(notification)).toBe('FIRING [critical] Capacity <high> & rising: capacity_ratio = 0.9346 (>= 0.9)');
  });

  it('email: the subject carries the headline, the body every fact on its own line', () => {
    const { subject, text } = emailMessage({
      ...notification,
      status: 'resolved',
      resolvedAt: '2026-01-02T04:00:00.000Z',
    });
    expect(subject).toBe('[Herald] RESOLVED [critical] Capacity <high> & rising: capacity_ratio = 0.9346 (>= 0.9)');
    expect(text.split('\n')).toEqual(
      expect.arrayContaining([
        'Status: resolved',
        'Rule: Capacity <high> & rising (cap)',
        'Severity: critical',
        'Metric: capacity_ratio',
        'Value: 0.9346',
        'Threshold: >= 0.9',
        'Started: 2026-01-02T03:04:05.678Z',
        'Resolved: 2026-01-02T04:00:00.000Z',
        'Instance: herald-1:3000',
      ]),
    );
  });

  it('slack: `text` and blocks, with the three mrkdwn control characters escaped', () => {
    const message = slackMessage(notification);
    expect(message.text).toBe(
      ':rotating_light: FIRING [critical] Capacity &lt;high&gt; &amp; rising: capacity_ratio = 0.9346 (&gt;= 0.9)',
    );
    expect(message.blocks).toHaveLength(3);
    expect(JSON.stringify(message.blocks)).not.toMatch(/<high>/);
    expect(slackMessage({ ...notification, status: 'resolved' }).text).toMatch(/^:white_check_mark: RESOLVED/);
  });
});

describe('webhook channel secrets', () => {
  const webhook = new WebhookChannel();
  const stored: ChannelConfig = { ...base, kind: 'webhook', url: 'https://x.example/hook', secret: 's3cret' };

  it('signs `<timestamp>.<raw body>` with HMAC-SHA256', () => {
    const expected = createHmac('sha256', 's3cret').update('1700000000000.{"a":1}').digest('hex');
    expect(webhookSignature('s3cret', '1700000000000', '{"a":1}')).toBe(`sha256=${expected}`);
  });

  it('masks the secret, and shows no secret field when there is none', () => {
    expect(webhook.mask(stored)).toEqual({ ...stored, secret: MASK });
    const { secret: _none, ...plain } = stored;
    expect(webhook.mask(plain)).toEqual(plain);
  });

  it.each([
    ['left out', {}, 's3cret'],
    ['sent back masked', { secret: MASK }, 's3cret'],
    ['replaced', { secret: 'new-one' }, 'new-one'],
    ['removed with null', { secret: null }, undefined],
  ])('a replace with the secret %s', (_how, change, expected) => {
    const incoming = { name: 'n', kind: 'webhook', url: 'https://x.example/hook', ...change };
    expect(webhook.keepSecrets(incoming, stored).secret).toBe(expected);
  });

  it('does not turn the mask into a secret when none was stored', () => {
    const { secret: _none, ...plain } = stored;
    expect(webhook.keepSecrets({ name: 'n', secret: MASK }, plain)).not.toHaveProperty('secret');
  });
});

describe('slack channel secrets', () => {
  const slack = new SlackChannel();
  const stored: ChannelConfig = { ...base, kind: 'slack', url: 'https://hooks.slack.com/services/T1/B2/XyZ?x=1' };

  it('masks the whole path (and query) of the URL, keeps the origin', () => {
    expect(slack.mask(stored).url).toBe(`https://hooks.slack.com/${MASK}`);
  });

  it('keeps the stored URL when it is left out or sent back masked, takes a new one', () => {
    expect(slack.keepSecrets({ name: 'n' }, stored).url).toBe(stored.url);
    expect(slack.keepSecrets({ url: `https://hooks.slack.com/${MASK}` }, stored).url).toBe(stored.url);
    expect(slack.keepSecrets({ url: 'https://hooks.slack.com/services/new' }, stored).url).toBe(
      'https://hooks.slack.com/services/new',
    );
  });

  it('lists the URL and its path as secrets to scrub', () => {
    expect(slack.secrets(stored)).toEqual([stored.url, '/services/T1/B2/XyZ?x=1']);
  });
});

describe('email channel secrets', () => {
  const email = new EmailChannel();
  const stored: ChannelConfig = {
    ...base,
    kind: 'email',
    smtpUrl: 'smtps://alerts:p%40ss@mail.example:465',
    from: 'a@example.com',
    to: ['b@example.com'],
  };

  it('masks only the password of the SMTP URL', () => {
    expect(email.mask(stored).smtpUrl).toBe(`smtps://alerts:${MASK}@mail.example:465`);
    expect(email.mask({ ...stored, smtpUrl: 'smtp://mail.example:25' }).smtpUrl).toBe('smtp://mail.example:25');
  });

  it.each([
    ['left out', 'smtps://alerts@mail.example:465', 'smtps://alerts:p%40ss@mail.example:465'],
    ['sent back masked', `smtps://alerts:${MASK}@other.example:465`, 'smtps://alerts:p%40ss@other.example:465'],
    ['replaced', 'smtps://alerts:new@mail.example:465', 'smtps://alerts:new@mail.example:465'],
    ['dropped with the user (no auth)', 'smtp://mail.example:25', 'smtp://mail.example:25'],
  ])('a replace with the password %s', (_how, smtpUrl, expected) => {
    expect(email.keepSecrets({ smtpUrl }, stored).smtpUrl).toBe(expected);
  });

  it('keeps the whole stored URL when smtpUrl is left out', () => {
    expect(email.keepSecrets({ name: 'n' }, stored).smtpUrl).toBe(stored.smtpUrl);
  });

  it('lists the password, encoded and decoded, as secrets to scrub', () => {
    expect(email.secrets(stored)).toEqual(['p%40ss', 'p@ss']);
  });
});

describe('log channel', () => {
  afterEach(() => Logger.overrideLogger(new ConsoleLogger()));

  it('writes one structured line: error for a critical firing, warn for others, info for a resolve', async () => {
    const lines: string[] = [];
    Logger.overrideLogger(new JsonLogger('debug', (line) => lines.push(line)));
    const log = new LogChannel();
    const channel = { ...base, kind: 'log' };
    await log.send(notification, channel);
    await log.send({ ...notification, severity: 'warning' }, channel);
    await log.send({ ...notification, status: 'resolved', resolvedAt: '2026-01-02T04:00:00.000Z' }, channel);
    const entries = lines.map((line) => JSON.parse(line) as { level: string; msg: string; alert: AlertNotification });
    expect(entries.map((entry) => entry.level)).toEqual(['error', 'warn', 'info']);
    expect(entries[0]).toMatchObject({ context: 'Alerts', msg: headline(notification), alert: notification });
    expect(log.secrets()).toEqual([]);
    expect(log.mask(channel)).toBe(channel);
  });
});
