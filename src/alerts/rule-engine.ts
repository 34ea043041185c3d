import type { Figures } from '../monitoring/figures.js';
import { holds, type AlertRule } from './alert-model.js';

/** A rule whose condition holds, and since when (pending: since it first held; firing: since it fired). */
export interface LiveAlert {
  rule: AlertRule;
  phase: 'pending' | 'firing';
  since: number;
  value: number;
}

/** A state change worth telling someone about. */
export interface AlertTransition {
  status: 'firing' | 'resolved';
  rule: AlertRule;
  value: number;
  /** When the alert started firing (ms). */
  startedAt: number;
  resolvedAt?: number;
  /** False for a firing inside the cooldown of the rule's previous firing notification. */
  notify: boolean;
}

/**
 * The alert state machine, one state per rule: inactive → pending (condition
 * holds, `forSeconds` not yet over) → firing → inactive again (resolved).
 * Pure: it is handed the rules, the figures and the time, and returns what changed.
 */
export class RuleEngine {
  private readonly live = new Map<string, LiveAlert>();
  /** When each rule last sent a firing notification; it outlives the alert, for the cooldown. */
  private readonly lastFiringNotice = new Map<string, number>();

  evaluate(rules: readonly AlertRule[], figures: Figures, at: number): AlertTransition[] {
    const transitions: AlertTransition[] = [];
    const current = new Set<string>();
    for (const rule of rules) {
      current.add(rule.id);
      const alert = this.live.get(rule.id);
      // An edited rule is judged, and reported, by what it says now.
      if (alert) alert.rule = rule;
      if (!rule.enabled) {
        if (alert) this.end(alert, alert.value, at, transitions);
        continue;
      }
      const value = figures[rule.metric];
      // A figure Monitoring could not compute this time changes nothing.
      if (typeof value !== 'number' || !Number.isFinite(value)) continue;
      if (!holds(value, rule.op, rule.threshold)) {
        if (alert) this.end(alert, value, at, transitions);
        continue;
      }
      if (!alert) {
        const pending: LiveAlert = { rule, phase: 'pending', since: at, value };
        this.live.set(rule.id, pending);
        if (rule.forSeconds === 0) this.fire(pending, at, transitions);
        continue;
      }
      alert.value = value;
      if (alert.phase === 'pending' && at - alert.since >= rule.forSeconds * 1000) this.fire(alert, at, transitions);
    }
    // A rule deleted while firing resolves, so no receiver is left with an alert that never ends.
    for (const alert of this.live.values()) {
      if (!current.has(alert.rule.id)) this.end(alert, alert.value, at, transitions);
    }
    for (const ruleId of this.lastFiringNotice.keys()) {
      if (!current.has(ruleId)) this.lastFiringNotice.delete(ruleId);
    }
    return transitions;
  }

  /** Pending and firing alerts, oldest first. */
  alerts(): LiveAlert[] {
    return [...this.live.values()].sort((a, b) => a.since - b.since);
  }

  private fire(alert: LiveAlert, at: number, transitions: AlertTransition[]): void {
    alert.phase = 'firing';
    alert.since = at;
    const last = this.lastFiringNotice.get(alert.rule.id);
    const notify = last === undefined || at - last >= alert.rule.cooldownSeconds * 1000;
    if (notify) this.lastFiringNotice.set(alert.rule.id, at);
    transitions.push({ status: 'firing', rule: alert.rule, value: alert.value, startedAt: at, notify });
  }

  private end(alert: LiveAlert, value: number, at: number, transitions: AlertTransition[]): void {
    this.live.delete(alert.rule.id);
    if (alert.phase !== 'firing') return;
    transitions.push({
      status: 'resolved',
      rule: alert.rule,
      value,
      startedAt: alert.since,
      resolvedAt: at,
      notify: true,
    });
  }
}
