import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { AddressInfo } from 'node:net';
import { HERALD_CONFIG, type HeraldConfig } from '../config/herald-config.js';
import type { ActiveAlert, Figures } from '../monitoring/figures.js';
import { MonitoringService } from '../monitoring/monitoring.service.js';
import { AlertDispatcher } from './alert-dispatcher.js';
import { AlertHistory, type AlertHistoryEntry } from './alert-history.js';
import type { AlertNotification, ChannelConfig } from './alert-model.js';
import { AlertsConfigService } from './alerts-config.service.js';
import type { LiveAlertView } from './dto/live-alert.dto.js';
import { RuleEngine, type AlertTransition, type LiveAlert } from './rule-engine.js';

/** Alert entries kept for `GET /v1/admin/alerts/history` and the dashboard. */
export const HISTORY_CAPACITY = 500;

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * Evaluates the rules on every monitoring snapshot, records each firing and
 * resolve in the history and hands notifications to the dispatcher without
 * waiting for them. Monitoring reads active alerts back for `/status`.
 */
@Injectable()
export class AlertsService implements OnModuleInit, OnModuleDestroy {
  private readonly engine = new RuleEngine();
  private readonly history = new AlertHistory(HISTORY_CAPACITY);
  private readonly logger = new Logger('Alerts');
  private stopListening: (() => void) | undefined;

  constructor(
    private readonly configs: AlertsConfigService,
    private readonly dispatcher: AlertDispatcher,
    private readonly monitoring: MonitoringService,
    private readonly adapterHost: HttpAdapterHost,
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.configs.load();
    this.stopListening = this.monitoring.onSnapshot((figures, at) => this.evaluate(figures, at));
    this.monitoring.registerAlertsSource({
      active: () => this.active(),
      recent: (limit) => this.recent(limit),
    });
  }

  onModuleDestroy(): void {
    this.stopListening?.();
  }

  /** Firing alerts, as `/status` lists them under `alerts.active`. */
  active(): ActiveAlert[] {
    return this.engine
      .alerts()
      .filter((alert) => alert.phase === 'firing')
      .map(({ rule, value, since }) => ({
        ruleId: rule.id,
        name: rule.name,
        severity: rule.severity,
        value,
        startedAt: iso(since),
      }));
  }

  /** Pending and firing alerts with their rule's condition. */
  live(): LiveAlertView[] {
    return this.engine.alerts().map((alert: LiveAlert) => ({
      ruleId: alert.rule.id,
      name: alert.rule.name,
      severity: alert.rule.severity,
      value: alert.value,
      startedAt: iso(alert.since),
      state: alert.phase,
      metric: alert.rule.metric,
      op: alert.rule.op,
      threshold: alert.rule.threshold,
    }));
  }

  recent(limit: number, ruleId?: string): AlertHistoryEntry[] {
    return this.history.recent(limit, ruleId);
  }

  /** Sends a `status: "test"` notification through one channel (enabled or not) and waits for the outcome. */
  async test(channel: ChannelConfig): Promise<AlertHistoryEntry> {
    const now = Date.now();
    const notification: AlertNotification = {
      status: 'test',
      rule: { id: 'test', name: 'Herald test alert', metric: 'active_connections', op: '>=', threshold: 0 },
      severity: 'info',
      value: this.monitoring.figures().active_connections,
      startedAt: iso(now),
      instance: this.instance(),
    };
    const entry: AlertHistoryEntry = {
      id: randomUUID(),
      ...notification,
      at: iso(now),
      notified: true,
      deliveries: [],
    };
    this.history.add(entry);
    await this.dispatcher.dispatch(notification, [channel], entry.deliveries);
    return entry;
  }

  private evaluate(figures: Figures, at: number): void {
    for (const transition of this.engine.evaluate(this.configs.rules, figures, at)) this.record(transition);
    if (this.configs.shared) void this.configs.refresh();
  }

  private record(transition: AlertTransition): void {
    const { rule, status, value, startedAt, resolvedAt, notify } = transition;
    const notification: AlertNotification = {
      status,
      rule: { id: rule.id, name: rule.name, metric: rule.metric, op: rule.op, threshold: rule.threshold },
      severity: rule.severity,
      value,
      startedAt: iso(startedAt),
      ...(resolvedAt === undefined ? {} : { resolvedAt: iso(resolvedAt) }),
      instance: this.instance(),
    };
    const entry: AlertHistoryEntry = {
      id: randomUUID(),
      ...notification,
      at: iso(Date.now()),
      notified: notify,
      deliveries: [],
    };
    this.history.add(entry);
    this.logger.log({ msg: `alert ${status}`, ruleId: rule.id, value, notified: notify });
    if (!notify) return;
    const channels = rule.channels
      .map((id) => this.configs.channels.find((channel) => channel.id === id))
      .filter((channel): channel is ChannelConfig => channel !== undefined && channel.enabled);
    // Not awaited: deliveries finish (or time out) on their own, off the snapshot path.
    void this.dispatcher.dispatch(notification, channels, entry.deliveries);
  }

  /** `host:port` of this Herald, so receivers can tell instances apart. */
  private instance(): string {
    const address = this.adapterHost.httpAdapter?.getHttpServer()?.address() as AddressInfo | string | null;
    const port = typeof address === 'object' && address !== null ? address.port : this.config.port;
    return `${hostname()}:${port}`;
  }
}
