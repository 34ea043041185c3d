import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import yaml from 'js-yaml';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RawSseClient } from './support/raw-sse.js';
import { ADMIN_TOKEN, publishOk, request, startHerald, type RunningHerald } from './support/herald.js';
import { describeWith, which } from './support/services.js';

const DEPLOY = fileURLToPath(new URL('../deploy/', import.meta.url));
const read = (path: string): string => readFileSync(`${DEPLOY}${path}`, 'utf8');

/** PromQL words that are not metric names (functions, aggregations, keywords used in the assets). */
const PROMQL_WORDS = new Set([
  'sum',
  'max',
  'min',
  'avg',
  'count',
  'rate',
  'increase',
  'irate',
  'histogram_quantile',
  'clamp_min',
  'max_over_time',
  'by',
  'without',
  'and',
  'or',
  'unless',
  'on',
  'ignoring',
  'bool',
  'absent',
]);
/** Series Prometheus itself adds to every scrape. */
const SCRAPE_SERIES = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped']);

/** The metric names an expression reads: what is left once labels, ranges, strings, numbers and variables go. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{?\w+\}?/g, ' ')
    .replace(/\b\d+(\.\d+)?\b/g, ' ');
  return [...bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)]
    .map((match) => match[0])
    .filter((word) => !PROMQL_WORDS.has(word));
}

/** Every series name in an exposition (histograms expand to _bucket, _sum, _count). */
function exportedNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
    else if (type === 'summary') for (const suffix of ['', '_sum', '_count']) names.add(`${name}${suffix}`);
    else names.add(name);
  }
  return names;
}

interface Target {
  expr: string;
  refId: string;
  datasource: { type: string; uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type: string; uid: string };
  targets?: Target[];
  panels?: Panel[];
}
interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: { type: string; name: string; query: unknown }[] };
}

describe('deploy/: the Grafana dashboard and the Prometheus rules read only what Herald exports', () => {
  let herald: RunningHerald;
  let exported: Set<string>;
  let exposition = '';
  const dashboard = JSON.parse(read('grafana/herald-dashboard.json')) as Dashboard;
  const panels = dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
  const queries = panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel, target })));
  const rules = (
    yaml.load(read('prometheus/herald-rules.yml')) as { groups: { rules: { alert: string; expr: string }[] }[] }
  ).groups.flatMap((group) => group.rules);

  beforeAll(async () => {
    herald = await startHerald({ SNAPSHOT_INTERVAL_MS: '200' });
    // Some traffic, so every family has samples (names do not depend on it: labels are pre-declared).
    const stream = new RawSseClient(`${herald.url}/v1/events?topic=deploy`);
    await stream.waitForBody((body) => body.startsWith('retry:'));
    await publishOk(herald, 'deploy', 'x');
    await stream.waitForEvents(1);
    stream.close();
    // One alert notification (a test through the default log channel), so its counter has a series too.
    const sent = await request(`${herald.url}/v1/admin/alerts/channels/log/test`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(sent.status).toBe(200);
    exposition = (await request<string>(`${herald.url}/metrics`)).body;
    exported = exportedNames(exposition);
  });
  afterAll(() => herald?.close());

  it('the dashboard is importable: a stable uid, unique panel ids, grid positions, and the data source as a variable', () => {
    expect(dashboard.uid).toBe('herald-overview');
    expect(dashboard.title).toMatch(/Herald/);
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    const ids = panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of panels) {
      expect(panel.gridPos.w).toBeGreaterThan(0);
      expect(panel.gridPos.x + panel.gridPos.w).toBeLessThanOrEqual(24);
    }
    const variable = dashboard.templating.list.find((entry) => entry.type === 'datasource');
    expect(variable).toMatchObject({ name: 'datasource', query: 'prometheus' });
    for (const { panel, target } of queries) {
      expect(panel.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(target.datasource.uid).toBe('${datasource}');
      expect(target.refId).toMatch(/^[A-Z]$/);
    }
    // Not one hard-wired data source anywhere in the file.
    expect(JSON.stringify(dashboard)).not.toMatch(/"uid":\s*"(?!\$\{datasource\}|herald-overview)[^"]*"/);
  });

  it('every dashboard query reads only metrics Herald exports, and each reads at least one', () => {
    expect(queries.length).toBeGreaterThan(15);
    for (const { panel, target } of queries) {
      const names = metricNames(target.expr);
      expect(names.length).toBeGreaterThan(0);
      for (const name of names)
        expect({ panel: panel.title, name, exported: exported.has(name) }).toMatchObject({ exported: true });
    }
  });

  it('the dashboard has the panels of /dashboard: connections, memory with the leak verdict, deliveries, latency p99, refusals by reason', () => {
    const read = new Set(queries.flatMap(({ target }) => metricNames(target.expr)));
    for (const name of [
      'herald_connections_active',
      'herald_capacity_ratio',
      'herald_memory_leak_suspected',
      'herald_heap_growth_bytes_per_second',
      'nodejs_heap_size_used_bytes',
      'herald_deliveries_total',
      'herald_delivery_latency_seconds_bucket',
      'herald_connections_refused_total',
      'herald_connections_closed_total',
    ]) {
      expect(read).toContain(name);
    }
    expect(
      queries.some(({ target }) => /sum by \(reason\) \(rate\(herald_connections_refused_total\{/.test(target.expr)),
    ).toBe(true);
    expect(
      queries.some(({ target }) =>
        /histogram_quantile\(0\.99, .*herald_delivery_latency_seconds_bucket/.test(target.expr),
      ),
    ).toBe(true);
  });

  it('herald_* series carry only the labels the README names, and alert notifications have their panel', () => {
    const labels = new Set<string>();
    for (const [, name, body] of exposition.matchAll(/^(herald_\w+)\{([^}]*)\}/gm)) {
      for (const [, label] of body.matchAll(/(\w+)="/g))
        labels.add(name === 'herald_alert_notifications_total' ? `notifications:${label}` : label);
    }
    expect([...labels].sort()).toEqual([
      'figure',
      'le',
      'notifications:channel_kind',
      'notifications:result',
      'reason',
      'severity',
    ]);
    expect(exposition).toMatch(/^herald_alert_notifications_total\{channel_kind="log",result="delivered"\} 1$/m);
    const panel = panels.find((candidate) =>
      (candidate.targets ?? []).some((target) => target.expr.includes('herald_alert_notifications_total')),
    );
    expect(panel?.title).toBe('Alert notifications');
    expect(panel?.targets?.[0].expr).toContain('sum by (channel_kind, result)');
  });

  it('the dashboard leaves no hole in its grid: each row of panels spans the full 24 columns', () => {
    const rows = new Map<number, Panel[]>();
    for (const panel of dashboard.panels.filter((candidate) => candidate.type !== 'row')) {
      rows.set(panel.gridPos.y, [...(rows.get(panel.gridPos.y) ?? []), panel]);
    }
    for (const [y, row] of rows) {
      const width = row.reduce((sum, panel) => sum + panel.gridPos.w, 0);
      expect({ y, width }).toEqual({ y, width: 24 });
    }
  });

  it('the provisioning files point Grafana at the dashboard folder and a Prometheus data source', () => {
    const provider = yaml.load(read('grafana/provisioning/dashboards/herald.yaml')) as {
      apiVersion: number;
      providers: { type: string; options: { path: string } }[];
    };
    expect(provider.apiVersion).toBe(1);
    expect(provider.providers[0]).toMatchObject({ type: 'file', options: { path: expect.stringMatching(/^\//) } });
    const sources = yaml.load(read('grafana/provisioning/datasources/prometheus.yaml')) as {
      datasources: { type: string }[];
    };
    expect(sources.datasources[0].type).toBe('prometheus');
  });

  it('every alerting rule reads only metrics Herald exports (or Prometheus’ own `up`)', () => {
    expect(rules.map((rule) => rule.alert)).toEqual(
      expect.arrayContaining([
        'HeraldNearCapacity',
        'HeraldMemoryLeakSuspected',
        'HeraldSlowConsumers',
        'HeraldDeliveryLatencyHigh',
      ]),
    );
    for (const rule of rules) {
      const names = metricNames(rule.expr);
      expect(names.length).toBeGreaterThan(0);
      for (const name of names) {
        expect({ rule: rule.alert, name, known: exported.has(name) || SCRAPE_SERIES.has(name) }).toMatchObject({
          known: true,
        });
      }
    }
  });

  describeWith(which('promtool') !== undefined, 'promtool (Debian package prometheus) is not installed')(
    'promtool',
    () => {
      it('`promtool check rules` and `check config` are clean, and the rules’ unit tests pass', () => {
        const cwd = `${DEPLOY}prometheus`;
        const run = (...args: string[]): string => execFileSync('promtool', args, { cwd, encoding: 'utf8' });
        expect(run('check', 'rules', 'herald-rules.yml')).toMatch(/SUCCESS: \d+ rules found/);
        expect(run('test', 'rules', 'herald-rules.test.yml')).toMatch(/SUCCESS/);
        // `check config` also opens the scrape's token file: check a copy that points at a real one.
        const dir = mkdtempSync(join(tmpdir(), 'herald-promtool-'));
        try {
          const shipped = read('prometheus/prometheus.yml');
          expect(shipped).toContain('credentials_file: /etc/prometheus/herald-metrics-token');
          writeFileSync(join(dir, 'token'), 'a-metrics-token-of-32-characters');
          writeFileSync(
            join(dir, 'prometheus.yml'),
            shipped.replace('/etc/prometheus/herald-metrics-token', join(dir, 'token')),
          );
          copyFileSync(`${cwd}/herald-rules.yml`, join(dir, 'herald-rules.yml'));
          expect(run('check', 'config', join(dir, 'prometheus.yml'))).toMatch(/is valid prometheus config file/);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });
    },
  );
});
