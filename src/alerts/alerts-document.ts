import { BadRequestException } from '@nestjs/common';
import { checkedAt, documentLists, storedId, validateBody } from '../store/validation.js';
import { ID_PATTERN, type AlertRule, type AlertsDocument, type ChannelConfig } from './alert-model.js';
import type { ChannelKinds } from './channels/channel-kinds.js';
import { RULE_DEFAULTS, RuleDto } from './dto/rule.dto.js';

/** A validated channel body (secrets already restored) as it is stored. */
export async function channelFrom(id: string, body: unknown, kinds: ChannelKinds): Promise<ChannelConfig> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BadRequestException(['the body must be a JSON object like {"name","kind",…}']);
  }
  const kind = (body as { kind?: unknown }).kind;
  const channel = typeof kind === 'string' ? kinds.get(kind) : undefined;
  if (!channel) throw new BadRequestException([`kind must be one of ${kinds.names.join(', ')}`]);
  const { id: _id, name, enabled, ...settings } = await validateBody(channel.dto, body);
  return {
    id,
    name: name as string,
    kind: channel.kind,
    enabled: (enabled as boolean | undefined) ?? true,
    ...settings,
  };
}

/** A validated rule body as it is stored, its channels checked against the configured ones. */
export function ruleFrom(id: string, dto: RuleDto, channels: readonly ChannelConfig[]): AlertRule {
  const known = new Set(channels.map((channel) => channel.id));
  const ruleChannels = dto.channels ?? RULE_DEFAULTS.channels;
  const unknown = ruleChannels
    .map((channelId, index) => (known.has(channelId) ? undefined : `channels[${index}] is no channel: "${channelId}"`))
    .filter((message) => message !== undefined);
  if (unknown.length > 0) throw new BadRequestException(unknown);
  return {
    id,
    name: dto.name,
    metric: dto.metric,
    op: dto.op,
    threshold: dto.threshold,
    forSeconds: dto.forSeconds ?? RULE_DEFAULTS.forSeconds,
    severity: dto.severity ?? RULE_DEFAULTS.severity,
    cooldownSeconds: dto.cooldownSeconds ?? RULE_DEFAULTS.cooldownSeconds,
    channels: [...ruleChannels],
    enabled: dto.enabled ?? RULE_DEFAULTS.enabled,
  };
}

/**
 * What a first start writes: a log channel and the built-in rules (capacity,
 * leak, event-loop lag), all of which an operator may change or delete.
 */
export function defaultDocument(): AlertsDocument {
  const channels = ['log'];
  return {
    version: 1,
    revision: 1,
    channels: [{ id: 'log', name: 'Herald log', kind: 'log', enabled: true }],
    rules: [
      {
        id: 'capacity-high',
        name: 'Connections at 90 % of MAX_CONNECTIONS',
        metric: 'capacity_ratio',
        op: '>=',
        threshold: 0.9,
        forSeconds: 0,
        severity: 'critical',
        cooldownSeconds: 300,
        channels,
        enabled: true,
      },
      {
        id: 'memory-leak-suspected',
        name: 'Memory leak suspected',
        metric: 'memory_leak_suspected',
        op: '>=',
        threshold: 1,
        forSeconds: 0,
        severity: 'warning',
        cooldownSeconds: 3600,
        channels,
        enabled: true,
      },
      {
        id: 'event-loop-lag-high',
        name: 'Event loop lag p99 above 200 ms',
        metric: 'event_loop_lag_p99_ms',
        op: '>=',
        threshold: 200,
        forSeconds: 60,
        severity: 'warning',
        cooldownSeconds: 600,
        channels,
        enabled: true,
      },
    ],
  };
}

/**
 * Checks a stored document as strictly as the API checks a request, so a
 * hand edit gone wrong stops start-up with the exact field instead of
 * being half-applied.
 */
export async function parseDocument(raw: unknown, kinds: ChannelKinds): Promise<AlertsDocument> {
  const document = documentLists(raw, ['channels', 'rules']);
  const channels: ChannelConfig[] = [];
  for (const [index, stored] of document.channels.entries()) {
    const id = storedId(stored, `channels[${index}]`, channels, ID_PATTERN);
    channels.push(await checkedAt(`channels[${index}]`, () => channelFrom(id, stored, kinds)));
  }
  const rules: AlertRule[] = [];
  for (const [index, stored] of document.rules.entries()) {
    const id = storedId(stored, `rules[${index}]`, rules, ID_PATTERN);
    const dto = await checkedAt(`rules[${index}]`, () => validateBody(RuleDto, stored));
    rules.push(await checkedAt(`rules[${index}]`, async () => ruleFrom(id, dto as unknown as RuleDto, channels)));
  }
  return { version: 1, revision: (raw as AlertsDocument).revision, channels, rules };
}
