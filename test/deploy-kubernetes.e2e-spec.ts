import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { loadConfig, type HeraldConfig } from '../src/config/herald-config.js';
import { CLOSE_GRACE_MS } from '../src/health/shutdown-signals.js';
import { ADMIN_TOKEN, request, startHerald, type RunningHerald } from './support/herald.js';
import { describeWith, which } from './support/services.js';

/**
 * The manifests in deploy/kubernetes must agree with the app they run: probe
 * paths are Herald's routes, ports are its PORT, the grace period covers its
 * drain, the HPA's metric is one it exports, the sizing covers its ceiling.
 */
const DIR = fileURLToPath(new URL('../deploy/kubernetes/', import.meta.url));
/** Memory sizing rule (deployment.yaml's comment): RSS at rest plus RSS per open stream. */
const BASELINE_BYTES = 130 * 1_048_576;
const PER_STREAM_BYTES = 32 * 1_024;

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- free-form YAML
/** Not a resource: rules to merge into an existing adapter's configuration. */
const ADAPTER_RULES = 'prometheus-adapter-rules.yaml';
const docs: Doc[] = readdirSync(DIR)
  .filter((file) => file.endsWith('.yaml') && file !== ADAPTER_RULES)
  .flatMap((file) => (yaml.loadAll(readFileSync(join(DIR, file), 'utf8')) as Doc[]).map((doc) => ({ ...doc, file })));
const find = (kind: string, name?: string): Doc => {
  const found = docs.filter((doc) => doc.kind === kind && (name === undefined || doc.metadata?.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0];
};
const deployment = find('Deployment');
const pod = deployment.spec.template;
const container = pod.spec.containers.find((c: Doc) => c.name === 'herald');
/** What the `herald` Secret holds in a real cluster (README shows how to create it). */
const SECRET_STAND_INS: Record<string, string> = {
  'redis-url': 'redis://redis.herald.svc:6379/0',
  'admin-token': 'an-admin-token-of-32-characters!',
  'publish-token': 'a-publish-token-of-32-characters',
  'metrics-token': 'a-metrics-token-of-32-characters',
};
const env: Record<string, string> = Object.fromEntries(
  container.env.map((e: Doc) => {
    if (e.value !== undefined) return [e.name, e.value];
    const key = e.valueFrom.secretKeyRef.key as string;
    if (!(key in SECRET_STAND_INS)) throw new Error(`unknown secret key ${key}: add a stand-in`);
    return [e.name, SECRET_STAND_INS[key]];
  }),
);
const port = (name: string): Doc => container.ports.find((p: Doc) => p.name === name);
const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([key, value]) => labels[key] === value);
const quantityBytes = (value: string): number => {
  const [, number, unit] = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi)?$/.exec(value) ?? [];
  return Number(number) * { Ki: 1_024, Mi: 1_048_576, Gi: 1_073_741_824 }[unit as 'Ki' | 'Mi' | 'Gi'];
};

describe('deploy/kubernetes', () => {
  let config: HeraldConfig;
  let herald: RunningHerald;

  beforeAll(async () => {
    // The Deployment's environment is a valid Herald configuration (secrets stand in).
    config = loadConfig(env);
    // Its routes, served by the real app; the broker is the embedded one here (no Redis needed).
    const { ALERTS_STORE_PATH: _inAVolume, ...local } = env;
    herald = await startHerald({ ...local, BROKER: 'memory', ADMIN_TOKEN, LOG_LEVEL: 'warn' });
  });
  afterAll(() => herald?.close());

  it('parses, every document a named Kubernetes object, and kustomization lists existing files', () => {
    for (const doc of docs) {
      expect([doc.file, typeof doc.apiVersion, typeof doc.kind]).toEqual([doc.file, 'string', 'string']);
      if (doc.kind !== 'Kustomization') expect([doc.file, typeof doc.metadata?.name]).toEqual([doc.file, 'string']);
    }
    for (const file of find('Kustomization').resources as string[]) expect(existsSync(join(DIR, file))).toBe(true);
  });

  it('probes the three health routes on the container port, and each answers 200 on a healthy Herald', async () => {
    expect(port('http').containerPort).toBe(config.port);
    const probes = {
      startupProbe: '/health/startup',
      readinessProbe: '/health/ready',
      livenessProbe: '/health/live',
    };
    for (const [probe, path] of Object.entries(probes)) {
      expect(container[probe].httpGet).toEqual({ path, port: 'http' });
      expect(container[probe].timeoutSeconds).toBeGreaterThanOrEqual(1);
      expect((await request(`${herald.url}${container[probe].httpGet.path}`)).status).toBe(200);
    }
    // Out of rotation on the first failed readiness check; a restart only after a sustained liveness failure.
    expect(container.readinessProbe.failureThreshold).toBe(1);
    expect(container.livenessProbe.failureThreshold * container.livenessProbe.periodSeconds).toBeGreaterThanOrEqual(20);
  });

  it('gives the pod time for the preStop pause, the whole drain and the close before SIGKILL', () => {
    const [command, seconds] = container.lifecycle.preStop.exec.command as string[];
    expect(command).toBe('sleep');
    const preStopMs = Number(seconds) * 1000;
    expect(preStopMs).toBeGreaterThanOrEqual(3_000);
    const graceMs = pod.spec.terminationGracePeriodSeconds * 1000;
    expect(graceMs).toBeGreaterThan(preStopMs + config.drainTimeoutMs + CLOSE_GRACE_MS);
    // One pod drains at a time and capacity never dips during a rollout.
    expect(deployment.spec.strategy.rollingUpdate).toMatchObject({ maxUnavailable: 0 });
  });

  it('sizes memory from the connection ceiling, with the V8 heap capped below the limit', () => {
    const { requests, limits } = container.resources;
    const limit = quantityBytes(limits.memory);
    expect(quantityBytes(requests.memory)).toBeLessThanOrEqual(limit);
    expect(limit).toBeGreaterThanOrEqual(BASELINE_BYTES + config.maxConnections * PER_STREAM_BYTES);
    const heapMb = Number(/--max-old-space-size=(\d+)/.exec(env.NODE_OPTIONS)?.[1]);
    expect(heapMb * 1_048_576).toBeLessThan(limit);
    expect(limits.cpu).toBeUndefined();
  });

  it('runs the image as it is built: its port and its user', () => {
    const dockerfile = readFileSync(fileURLToPath(new URL('../Dockerfile', import.meta.url)), 'utf8');
    expect(Number(/^EXPOSE (\d+)$/m.exec(dockerfile)?.[1])).toBe(port('http').containerPort);
    expect(Number(/^USER (\d+)/m.exec(dockerfile)?.[1])).toBe(pod.spec.securityContext.runAsUser);
  });

  it('runs hardened: non-root, read-only root filesystem, a writable volume where Herald writes', () => {
    expect(pod.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: expect.any(Number) });
    expect(pod.spec.securityContext.runAsUser).toBeGreaterThan(0);
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    const mounts = container.volumeMounts.map((m: Doc) => m.mountPath) as string[];
    expect(mounts.some((mount) => config.alertsStorePath.startsWith(`${mount}/`))).toBe(true);
  });

  it('routes the Service, PodDisruptionBudget and ServiceMonitor to these pods and this port', () => {
    const service = find('Service');
    expect(matches(service.spec.selector, pod.metadata.labels)).toBe(true);
    expect(matches(deployment.spec.selector.matchLabels, pod.metadata.labels)).toBe(true);
    const servicePort = service.spec.ports.find((p: Doc) => p.name === 'http');
    expect(port(servicePort.targetPort)).toBeDefined();

    const pdb = find('PodDisruptionBudget');
    expect(matches(pdb.spec.selector.matchLabels, pod.metadata.labels)).toBe(true);
    expect(pdb.spec.maxUnavailable).toBe(1);

    const monitor = find('ServiceMonitor');
    expect(matches(monitor.spec.selector.matchLabels, service.metadata.labels)).toBe(true);
    expect(monitor.spec.endpoints).toEqual([expect.objectContaining({ port: 'http', path: '/metrics' })]);
    // No annotation-based scrape: it would carry no token and get another job name.
    expect(Object.keys(pod.metadata.annotations ?? {}).filter((key) => key.startsWith('prometheus.io/'))).toEqual([]);

    const ingress = find('Ingress', 'herald');
    for (const path of ingress.spec.rules[0].http.paths) {
      expect(path.backend.service).toEqual({ name: service.metadata.name, port: { name: 'http' } });
    }
    const readTimeoutS = Number(ingress.metadata.annotations['nginx.ingress.kubernetes.io/proxy-read-timeout']);
    expect(readTimeoutS * 1000).toBeGreaterThanOrEqual(4 * config.heartbeatIntervalMs);
    expect(ingress.metadata.annotations['nginx.ingress.kubernetes.io/proxy-buffering']).toBe('off');
  });

  it('scales on a metric Herald exports, served by the adapter rule, before pods turn themselves unready', async () => {
    const hpa = find('HorizontalPodAutoscaler');
    expect(hpa.spec.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: deployment.metadata.name,
    });
    const custom = hpa.spec.metrics.find((m: Doc) => m.type === 'Pods').pods;
    const metric = custom.metric.name as string;
    const metrics = await request<string>(`${herald.url}/metrics`, {
      headers: { authorization: `Bearer ${env.METRICS_TOKEN}` },
    });
    expect(metrics.body).toMatch(new RegExp(`^# TYPE ${metric} gauge$`, 'm'));
    expect(Number(custom.target.averageValue)).toBeLessThan(config.capacityThreshold * config.maxConnections);
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);

    const rules = (yaml.load(readFileSync(join(DIR, ADAPTER_RULES), 'utf8')) as Doc).rules as Doc[];
    const rule = rules.find((r) => r.name.as === metric);
    expect(rule?.seriesQuery).toContain(`${metric}{`);
    expect(rule?.resources.overrides).toEqual({ namespace: { resource: 'namespace' }, pod: { resource: 'pod' } });
  });

  it('the scrape sends METRICS_TOKEN from the Secret key Herald reads it from, and Herald wants it', async () => {
    const monitor = find('ServiceMonitor');
    const fromEnv = container.env.find((e: Doc) => e.name === 'METRICS_TOKEN').valueFrom.secretKeyRef;
    expect(monitor.spec.endpoints[0].authorization).toEqual({ type: 'Bearer', credentials: fromEnv });
    expect((await request(`${herald.url}/metrics`)).status).toBe(401);
    expect((await request(`${herald.url}/status`)).status).toBe(401);
    const scraped = await request<string>(`${herald.url}/metrics`, {
      headers: { authorization: `Bearer ${env.METRICS_TOKEN}` },
    });
    expect(scraped.status).toBe(200);
  });

  it('HeraldDown and HeraldAbsent match the job label the ServiceMonitor gives the scraped series', () => {
    const monitor = find('ServiceMonitor');
    const service = find('Service');
    // Prometheus Operator: job = the Service's label named by jobLabel, else the Service's name.
    const job = monitor.spec.jobLabel ? service.metadata.labels[monitor.spec.jobLabel] : service.metadata.name;
    const rules = (yaml.load(readFileSync(join(DIR, '../prometheus/herald-rules.yml'), 'utf8')) as Doc).groups
      .flatMap((group: Doc) => group.rules)
      .filter((rule: Doc) => ['HeraldDown', 'HeraldAbsent'].includes(rule.alert));
    expect(rules).toHaveLength(2);
    for (const rule of rules) expect(rule.expr).toContain(`up{job="${job}"}`);
  });

  it('the public Ingress routes only subscribing and /client/; internals and publishing are not reachable', () => {
    const routes = (ingress: Doc): { path: string; pathType: string }[] =>
      ingress.spec.rules.flatMap((rule: Doc) => rule.http.paths);
    const routed = (ingress: Doc, url: string): boolean =>
      routes(ingress).some(({ path, pathType }) =>
        pathType === 'Exact'
          ? url === path
          : url === path.replace(/\/$/, '') || url.startsWith(path.endsWith('/') ? path : `${path}/`),
      );
    const publicSide = find('Ingress', 'herald');
    for (const url of ['/v1/events', '/v1/poll', '/client/herald.js', '/client/herald-worker.js']) {
      expect({ url, routed: routed(publicSide, url) }).toEqual({ url, routed: true });
    }
    const internal = ['/metrics', '/status', '/dashboard', '/dashboard/stream', '/docs', '/openapi.json'];
    for (const url of [...internal, '/v1/admin/connections', '/v1/topics/trucks%2F42/events', '/']) {
      expect({ url, routed: routed(publicSide, url) }).toEqual({ url, routed: false });
    }
    // The switch: publishing to a topic only through ingress-publish.yaml, never the internals.
    const publishing = find('Ingress', 'herald-publish');
    expect(routed(publishing, '/v1/topics/trucks%2F42/events')).toBe(true);
    for (const url of [...internal, '/v1/admin/connections']) expect(routed(publishing, url)).toBe(false);
  });

  describeWith(which('yq') !== undefined, 'yq (Debian package yq) is not installed')('adapter rules', () => {
    it('merge into an existing adapter configuration with the documented yq lines, keeping its rules', () => {
      const dir = mkdtempSync(join(tmpdir(), 'herald-adapter-'));
      try {
        copyFileSync(join(DIR, ADAPTER_RULES), join(dir, ADAPTER_RULES));
        const existing = { seriesQuery: 'other_metric{namespace!="",pod!=""}', metricsQuery: 'sum(<<.Series>>)' };
        writeFileSync(join(dir, 'values.yaml'), yaml.dump({ rules: { default: true, custom: [existing] } }));
        writeFileSync(join(dir, 'config.yaml'), yaml.dump({ rules: [existing] }));
        const lines = readFileSync(join(DIR, ADAPTER_RULES), 'utf8')
          .split('\n')
          .filter((line) => /^#\s+yq /.test(line))
          .map((line) => line.replace(/^#\s+/, ''));
        expect(lines).toHaveLength(2);
        for (const line of lines) execFileSync('bash', ['-c', line], { cwd: dir });
        const merged = yaml.load(readFileSync(join(dir, 'merged-values.yaml'), 'utf8')) as Doc;
        expect(merged.rules.default).toBe(true);
        expect(merged.rules.custom.map((rule: Doc) => rule.seriesQuery)).toEqual([
          existing.seriesQuery,
          'herald_connections_active{namespace!="",pod!=""}',
        ]);
        const config = yaml.load(readFileSync(join(dir, 'merged-config.yaml'), 'utf8')) as Doc;
        expect(config.rules).toHaveLength(2);
        expect(config.rules[0]).toEqual(existing);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
