import type { AlertNotification } from '../alert-model.js';

/** A figure as people read it: integers as they are, fractions to four significant digits. */
export function formatValue(value: number): string {
  if (Number.isInteger(value) || Math.abs(value) >= 1000) return String(Math.round(value));
  return String(Number(value.toPrecision(4)));
}

/** One line that says it all, e.g. `FIRING [critical] Capacity: capacity_ratio = 0.95 (>= 0.9)`. */
export function headline(notification: AlertNotification): string {
  const { status, severity, rule, value } = notification;
  return (
    `${status.toUpperCase()} [${severity}] ${rule.name}: ` +
    `${rule.metric} = ${formatValue(value)} (${rule.op} ${formatValue(rule.threshold)})`
  );
}

/** The facts of a notification as labelled lines (email body, Slack fields). */
export function factLines(notification: AlertNotification): Array<[label: string, value: string]> {
  const { status, rule, severity, value, startedAt, resolvedAt, instance } = notification;
  const lines: Array<[string, string]> = [
    ['Status', status],
    ['Rule', `${rule.name} (${rule.id})`],
    ['Severity', severity],
    ['Metric', rule.metric],
    ['Value', formatValue(value)],
    ['Threshold', `${rule.op} ${formatValue(rule.threshold)}`],
    ['Started', startedAt],
  ];
  if (resolvedAt !== undefined) lines.push(['Resolved', resolvedAt]);
  lines.push(['Instance', instance]);
  return lines;
}
