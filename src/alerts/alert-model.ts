import type { FigureName } from '../monitoring/figures.js';

export const COMPARISONS = ['>', '>=', '<', '<='] as const;
export type Comparison = (typeof COMPARISONS)[number];

export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Ids Herald makes are UUIDs; an operator may choose readable ones on create. */
export const ID_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
export const ID_RULE = 'id must be 1-64 characters from A-Z a-z 0-9 _ . : -';

/** What every response shows in place of a write-only secret. */
export const MASK = '********';

/** A rule over one monitored figure (API.md, Administration). */
export interface AlertRule {
  id: string;
  name: string;
  metric: FigureName;
  op: Comparison;
  threshold: number;
  forSeconds: number;
  severity: Severity;
  cooldownSeconds: number;
  channels: string[];
  enabled: boolean;
}

/**
 * A configured channel, flat as in the API: `{id, name, kind, enabled}` plus
 * the settings of its kind (validated by that kind's DTO before it is stored).
 */
export interface ChannelConfig {
  id: string;
  name: string;
  kind: string;
  enabled: boolean;
  [setting: string]: unknown;
}

/** The whole alert configuration, as one store keeps it. */
export interface AlertsDocument {
  version: 1;
  /** Bumped on every write, so a shared store can tell a newer document from its own. */
  revision: number;
  channels: ChannelConfig[];
  rules: AlertRule[];
}

export type NotificationStatus = 'firing' | 'resolved' | 'test';

/** The body of a webhook delivery; Slack, email and log carry the same facts as text. */
export interface AlertNotification {
  status: NotificationStatus;
  rule: { id: string; name: string; metric: string; op: Comparison; threshold: number };
  severity: Severity;
  value: number;
  /** ISO 8601. */
  startedAt: string;
  resolvedAt?: string;
  /** host name and port of the Herald that sent it. */
  instance: string;
}

export function holds(value: number, op: Comparison, threshold: number): boolean {
  switch (op) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
  }
}
