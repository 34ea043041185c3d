import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig, misspeltVariables } from './herald-config.js';

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      host: '0.0.0.0',
      maxConnections: 10_000,
      capacityThreshold: 0.9,
      retryAfterSeconds: 30,
      maxConnectionsPerIp: 100,
      maxConnectionsPerTenant: 0,
      maxPollsPerIp: 100,
      maxPolls: 10_000,
      trustProxy: false,
      heartbeatIntervalMs: 15_000,
      retryMs: 3_000,
      historySize: 1_000,
      historyTtlMs: 3_600_000,
      maxQueueBytes: 1_048_576,
      maxConnectionAgeMs: 0,
      maxEventBytes: 65_536,
      drainTimeoutMs: 10_000,
      broker: 'memory',
      redisUrl: 'redis://127.0.0.1:6379',
      corsOrigins: '*',
      snapshotIntervalMs: 5_000,
      alertsStorePath: './data/alerts.json',
      logLevel: 'info',
      adminTokenGenerated: true,
    });
    expect(config.adminToken.length).toBeGreaterThanOrEqual(24);
  });

  it('poll limits default to the stream limits and can be set apart', () => {
    expect(loadConfig({ MAX_CONNECTIONS: '50', MAX_CONNECTIONS_PER_IP: '5' })).toMatchObject({
      maxPolls: 50,
      maxPollsPerIp: 5,
    });
    expect(loadConfig({ MAX_POLLS: '7', MAX_POLLS_PER_IP: '2' })).toMatchObject({ maxPolls: 7, maxPollsPerIp: 2 });
    expect(() => loadConfig({ MAX_POLLS_PER_IP: '0' })).toThrow(/MAX_POLLS_PER_IP="0": must be an integer from 1/);
  });

  it('occupancy webhooks: the file beside the alerts store unless set, and bounded delivery settings', () => {
    expect(loadConfig({})).toMatchObject({
      occupancyWebhooksStorePath: 'data/occupancy-webhooks.json',
      occupancyWebhookTimeoutMs: 5_000,
      occupancyWebhookRetries: 5,
      occupancyWebhookQueueSize: 1_000,
    });
    expect(loadConfig({ ALERTS_STORE_PATH: '/var/lib/herald/alerts.json' }).occupancyWebhooksStorePath).toBe(
      '/var/lib/herald/occupancy-webhooks.json',
    );
    expect(loadConfig({ OCCUPANCY_WEBHOOKS_STORE_PATH: '/elsewhere/hooks.json' }).occupancyWebhooksStorePath).toBe(
      '/elsewhere/hooks.json',
    );
    expect(() => loadConfig({ OCCUPANCY_WEBHOOK_RETRIES: '21' })).toThrow(/OCCUPANCY_WEBHOOK_RETRIES="21"/);
    expect(() => loadConfig({ OCCUPANCY_WEBHOOK_QUEUE_SIZE: '0' })).toThrow(/OCCUPANCY_WEBHOOK_QUEUE_SIZE="0"/);
    expect(() => loadConfig({ OCCUPANCY_WEBHOOK_TIMEOUT_MS: '50' })).toThrow(/OCCUPANCY_WEBHOOK_TIMEOUT_MS="50"/);
  });

  it.each([
    ['PORT', 'abc', /PORT="abc": must be an integer from 0 to 65535/],
    ['PORT', '70000', /PORT="70000"/],
    ['MAX_CONNECTIONS', '0', /MAX_CONNECTIONS="0": must be an integer from 1/],
    ['MAX_CONNECTIONS', '1.5', /MAX_CONNECTIONS="1.5"/],
    ['CAPACITY_THRESHOLD', '1.5', /CAPACITY_THRESHOLD="1.5": must be a number greater than 0 and at most 1/],
    ['CAPACITY_THRESHOLD', '0', /CAPACITY_THRESHOLD/],
    ['TRUST_PROXY', 'maybe', /TRUST_PROXY="maybe": must be true or false/],
    ['BROKER', 'kafka', /BROKER="kafka": must be one of memory, redis/],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL="loud": must be one of debug, info, warn, error/],
    ['REDIS_URL', 'http://x', /REDIS_URL="http:\/\/x": must be a redis/],
    ['CORS_ORIGINS', 'https://a.com/path', /CORS_ORIGINS=.*is not an origin/],
    ['HEARTBEAT_INTERVAL_MS', '-5', /HEARTBEAT_INTERVAL_MS="-5"/],
  ])('%s=%j is refused with one clear line', (name, value, message) => {
    let error: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(message);
    expect((error as ConfigError).message).not.toContain('\n');
  });

  it('never echoes a secret that is refused', () => {
    expect(() => loadConfig({ ADMIN_TOKEN: 'short-secret' })).toThrow(/ADMIN_TOKEN="<12 characters>"/);
    expect(() => loadConfig({ JWT_SECRET: 'tooshort' })).toThrow(/JWT_SECRET="<8 characters>"/);
  });

  it('reads booleans, lists and secrets', () => {
    const config = loadConfig({
      TRUST_PROXY: 'true',
      CORS_ORIGINS: 'https://a.example, http://localhost:8080',
      ADMIN_TOKEN: 'a'.repeat(20),
      PUBLISH_TOKEN: 'p'.repeat(20),
    });
    expect(config.trustProxy).toBe(true);
    expect(config.corsOrigins).toEqual(['https://a.example', 'http://localhost:8080']);
    expect(config.adminTokenGenerated).toBe(false);
    expect(config.publishToken).toBe('p'.repeat(20));
  });
});

describe('misspeltVariables', () => {
  it('names the closest real variable for a typo, a swap or another case, never a value', () => {
    expect(
      misspeltVariables({ MAX_CONECTIONS: '5', HEARTBAET_INTERVAL_MS: '100', log_level: 'debug', PROT: '1' }),
    ).toEqual([
      { variable: 'MAX_CONECTIONS', closest: 'MAX_CONNECTIONS' },
      { variable: 'HEARTBAET_INTERVAL_MS', closest: 'HEARTBEAT_INTERVAL_MS' },
      { variable: 'log_level', closest: 'LOG_LEVEL' },
      { variable: 'PROT', closest: 'PORT' },
    ]);
  });

  it('is silent for the real variables and for the usual environment of a shell, npm or a container', () => {
    const env = {
      MAX_CONNECTIONS: '5',
      PORT: '1',
      HOST: '127.0.0.1',
      HOME: '/root',
      PATH: '/usr/bin',
      HOSTNAME: 'pod-1',
      TERM: 'xterm',
      USER: 'node',
      PWD: '/app',
      NODE_ENV: 'production',
      NODE_OPTIONS: '--max-old-space-size=512',
      HTTP_PROXY: 'http://proxy:3128',
      NO_PROXY: 'localhost',
      HISTSIZE: '1000',
      npm_lifecycle_event: 'start',
      KUBERNETES_SERVICE_PORT: '443',
      HERALD_SERVICE_PORT: '3000',
    };
    expect(misspeltVariables(env)).toEqual([]);
  });
});
