import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { BROKER_KIND_NAMES, type BrokerKindName } from '../broker/broker-kinds.js';
import { parseRedisUrl, redactRedisUrl, RedisUrlError } from '../redis/redis-url.js';

export type BrokerKind = BrokerKindName;
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Occupancy webhooks (src/presence/webhooks): where they are kept, and how each delivery is tried. */
export interface OccupancyWebhooksConfig {
  /** The webhooks' file without Redis (default: `occupancy-webhooks.json` beside ALERTS_STORE_PATH). */
  occupancyWebhooksStorePath: string;
  /** One attempt's time limit; attempts after the first; deliveries waiting per webhook (oldest dropped past it). */
  occupancyWebhookTimeoutMs: number;
  occupancyWebhookRetries: number;
  occupancyWebhookQueueSize: number;
}

/** The whole configuration, validated once at start-up (docs/operations.md, Configuration). */
export interface HeraldConfig extends OccupancyWebhooksConfig {
  port: number;
  host: string;
  maxConnections: number;
  capacityThreshold: number;
  retryAfterSeconds: number;
  maxConnectionsPerIp: number;
  maxConnectionsPerTenant: number;
  /** Waiting long-polls per client IP and in total (they are not streams and never count as one). */
  maxPollsPerIp: number;
  maxPolls: number;
  trustProxy: boolean;
  heartbeatIntervalMs: number;
  retryMs: number;
  historySize: number;
  historyTtlMs: number;
  maxQueueBytes: number;
  maxConnectionAgeMs: number;
  maxEventBytes: number;
  drainTimeoutMs: number;
  broker: BrokerKind;
  redisUrl: string;
  redisKeyPrefix: string;
  publishToken: string | undefined;
  adminToken: string;
  /** True when ADMIN_TOKEN was unset and Herald made one (logged once at start). */
  adminTokenGenerated: boolean;
  jwtSecret: string | undefined;
  /** When set, `/metrics` and `/status` need `Authorization: Bearer <METRICS_TOKEN>`. */
  metricsToken: string | undefined;
  corsOrigins: string[] | '*';
  snapshotIntervalMs: number;
  /** Sliding window of the memory-leak detector. */
  leakWindowMs: number;
  alertsStorePath: string;
  /** One alert delivery attempt's time limit, and how often a failed delivery is retried. */
  alertsSendTimeoutMs: number;
  alertsSendRetries: number;
  logLevel: LogLevel;
  publishRateLimit: number;
  publishRateWindowMs: number;
  /** How long a publish's `Idempotency-Key` is remembered (per credential). */
  idempotencyTtlMs: number;
  /** PRESENCE=off: no presence counting, topic info, presence frames or occupancy webhooks. */
  presence: boolean;
  /** How long a topic stays at zero subscribers before `vacated` is reported. */
  vacatedGraceMs: number;
  /** Redis: an instance that has not renewed its presence for this long is dead; its streams stop counting. */
  presenceTtlMs: number;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    readonly value: string,
    readonly allowed: string,
  ) {
    super(`invalid configuration: ${variable}=${JSON.stringify(value)}: ${allowed}`);
  }
}

type Env = Record<string, string | undefined>;

function read(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^-?[0-9]+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(name, raw, `must be an integer from ${min} to ${max}`);
  }
  return value;
}

function fraction(env: Env, name: string, fallback: number): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^[0-9.]+$/.test(raw) || !(value > 0 && value <= 1)) {
    throw new ConfigError(name, raw, 'must be a number greater than 0 and at most 1');
  }
  return value;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  if (/^(true|1|yes)$/i.test(raw)) return true;
  if (/^(false|0|no)$/i.test(raw)) return false;
  throw new ConfigError(name, raw, 'must be true or false');
}

function oneOf<T extends string>(env: Env, name: string, fallback: T, allowed: readonly T[]): T {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(name, raw, `must be one of ${allowed.join(', ')}`);
  }
  return raw as T;
}

function secret(env: Env, name: string, minLength: number): string | undefined {
  const raw = read(env, name);
  if (raw === undefined) return undefined;
  if (raw.length < minLength) {
    // The value is a secret: name its length, never echo it.
    throw new ConfigError(name, `<${raw.length} characters>`, `must be at least ${minLength} characters`);
  }
  return raw;
}

function redisUrl(env: Env): string {
  const raw = read(env, 'REDIS_URL') ?? 'redis://127.0.0.1:6379';
  try {
    parseRedisUrl(raw);
  } catch (error) {
    if (error instanceof RedisUrlError) throw new ConfigError('REDIS_URL', redactRedisUrl(raw), error.message);
    throw error;
  }
  return raw;
}

function corsOrigins(env: Env): string[] | '*' {
  const raw = read(env, 'CORS_ORIGINS');
  if (raw === undefined || raw === '*') return '*';
  const origins = raw
    .split(',')
    .map((origin) => origin.trim())
    .filter(Boolean);
  for (const origin of origins) {
    if (!isOrigin(origin))
      throw new ConfigError(
        'CORS_ORIGINS',
        raw,
        `"${origin}" is not an origin like https://app.example.com (or use *)`,
      );
  }
  return origins;
}

function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value;
  } catch {
    return false;
  }
}

const DAY_MS = 86_400_000;
const ALERTS_STORE_PATH = './data/alerts.json';

function occupancyWebhooks(env: Env): OccupancyWebhooksConfig {
  const alertsStore = read(env, 'ALERTS_STORE_PATH') ?? ALERTS_STORE_PATH;
  return {
    occupancyWebhooksStorePath:
      read(env, 'OCCUPANCY_WEBHOOKS_STORE_PATH') ?? join(dirname(alertsStore), 'occupancy-webhooks.json'),
    occupancyWebhookTimeoutMs: int(env, 'OCCUPANCY_WEBHOOK_TIMEOUT_MS', 5_000, 100, 120_000),
    occupancyWebhookRetries: int(env, 'OCCUPANCY_WEBHOOK_RETRIES', 5, 0, 20),
    occupancyWebhookQueueSize: int(env, 'OCCUPANCY_WEBHOOK_QUEUE_SIZE', 1_000, 1, 1_000_000),
  };
}

/** The leak detector fits a line to the window's minima, so it needs at least 10 snapshots in it. */
function leakWindowMs(env: Env, snapshotIntervalMs: number): number {
  if (read(env, 'LEAK_WINDOW_MS') === undefined) return Math.max(600_000, 20 * snapshotIntervalMs);
  const value = int(env, 'LEAK_WINDOW_MS', 600_000, 1_000, DAY_MS);
  if (value < 10 * snapshotIntervalMs) {
    throw new ConfigError(
      'LEAK_WINDOW_MS',
      String(value),
      `must be at least 10 × SNAPSHOT_INTERVAL_MS (${10 * snapshotIntervalMs})`,
    );
  }
  return value;
}

/** Reads and validates the environment. Throws `ConfigError` on the first bad value. */
export function loadConfig(env: Env): HeraldConfig {
  const generated = read(env, 'ADMIN_TOKEN') === undefined;
  const host = read(env, 'HOST') ?? '0.0.0.0';
  const snapshotIntervalMs = int(env, 'SNAPSHOT_INTERVAL_MS', 5_000, 100, 3_600_000);
  const maxConnections = int(env, 'MAX_CONNECTIONS', 10_000, 1, 10_000_000);
  const maxConnectionsPerIp = int(env, 'MAX_CONNECTIONS_PER_IP', 100, 1, 10_000_000);
  return {
    port: int(env, 'PORT', 3000, 0, 65535),
    host,
    maxConnections,
    capacityThreshold: fraction(env, 'CAPACITY_THRESHOLD', 0.9),
    retryAfterSeconds: int(env, 'RETRY_AFTER_SECONDS', 30, 1, 86_400),
    maxConnectionsPerIp,
    maxConnectionsPerTenant: int(env, 'MAX_CONNECTIONS_PER_TENANT', 0, 0, 10_000_000),
    maxPollsPerIp: int(env, 'MAX_POLLS_PER_IP', maxConnectionsPerIp, 1, 10_000_000),
    maxPolls: int(env, 'MAX_POLLS', maxConnections, 1, 10_000_000),
    trustProxy: bool(env, 'TRUST_PROXY', false),
    heartbeatIntervalMs: int(env, 'HEARTBEAT_INTERVAL_MS', 15_000, 50, DAY_MS),
    retryMs: int(env, 'RETRY_MS', 3_000, 0, DAY_MS),
    historySize: int(env, 'HISTORY_SIZE', 1_000, 1, 1_000_000),
    historyTtlMs: int(env, 'HISTORY_TTL_MS', 3_600_000, 1_000, 30 * DAY_MS),
    maxQueueBytes: int(env, 'MAX_QUEUE_BYTES', 1_048_576, 1_024, 1_073_741_824),
    maxConnectionAgeMs: int(env, 'MAX_CONNECTION_AGE_MS', 0, 0, 30 * DAY_MS),
    maxEventBytes: int(env, 'MAX_EVENT_BYTES', 65_536, 16, 16_777_216),
    drainTimeoutMs: int(env, 'DRAIN_TIMEOUT_MS', 10_000, 0, 3_600_000),
    broker: oneOf<BrokerKind>(env, 'BROKER', 'memory', BROKER_KIND_NAMES),
    redisUrl: redisUrl(env),
    redisKeyPrefix: read(env, 'REDIS_KEY_PREFIX') ?? 'herald:',
    publishToken: secret(env, 'PUBLISH_TOKEN', 16),
    adminToken: secret(env, 'ADMIN_TOKEN', 16) ?? randomBytes(24).toString('base64url'),
    adminTokenGenerated: generated,
    jwtSecret: secret(env, 'JWT_SECRET', 32),
    metricsToken: secret(env, 'METRICS_TOKEN', 16),
    corsOrigins: corsOrigins(env),
    snapshotIntervalMs,
    leakWindowMs: leakWindowMs(env, snapshotIntervalMs),
    alertsStorePath: read(env, 'ALERTS_STORE_PATH') ?? ALERTS_STORE_PATH,
    alertsSendTimeoutMs: int(env, 'ALERTS_SEND_TIMEOUT_MS', 5_000, 100, 120_000),
    alertsSendRetries: int(env, 'ALERTS_SEND_RETRIES', 2, 0, 10),
    ...occupancyWebhooks(env),
    logLevel: oneOf<LogLevel>(env, 'LOG_LEVEL', 'info', ['debug', 'info', 'warn', 'error']),
    publishRateLimit: int(env, 'PUBLISH_RATE_LIMIT', 10_000, 1, 100_000_000),
    publishRateWindowMs: int(env, 'PUBLISH_RATE_WINDOW_MS', 1_000, 100, 3_600_000),
    idempotencyTtlMs: int(env, 'IDEMPOTENCY_TTL_MS', 600_000, 100, DAY_MS),
    presence: oneOf(env, 'PRESENCE', 'on', ['on', 'off']) === 'on',
    vacatedGraceMs: int(env, 'VACATED_GRACE_MS', 5_000, 0, DAY_MS),
    presenceTtlMs: int(env, 'PRESENCE_TTL_MS', 10_000, 1_000, 3_600_000),
  };
}

/** Injection token for the validated configuration. */
export const HERALD_CONFIG = Symbol('HERALD_CONFIG');

/** Edits (insert, delete, substitute, swap two neighbours) turning `a` into `b`: optimal string alignment. */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) rows[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      rows[i][j] = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        rows[i][j] = Math.min(rows[i][j], rows[i - 2][j - 2] + 1);
    }
  }
  return rows[a.length][b.length];
}

export interface Misspelling {
  variable: string;
  closest: string;
}

/**
 * Set variables that Herald does not read but that look like one it does
 * (another case, or one or two edits away; one for short names, so HOME is not
 * taken for HOST): a typo would otherwise be ignored silently. Names only, never values.
 */
export function misspeltVariables(env: Env): Misspelling[] {
  // The names Herald reads are the ones loadConfig asks for: variables added later are known without a list.
  const known = new Set<string>();
  loadConfig(
    new Proxy(env, {
      get: (target, name) => {
        if (typeof name === 'string') known.add(name);
        return typeof name === 'string' ? target[name] : undefined;
      },
    }),
  );
  const found: Misspelling[] = [];
  for (const variable of Object.keys(env)) {
    if (known.has(variable) || !/^[A-Za-z][A-Za-z0-9_]*$/.test(variable)) continue;
    const upper = variable.toUpperCase();
    if (upper !== variable && known.has(upper)) {
      found.push({ variable, closest: upper });
      continue;
    }
    if (upper !== variable) continue;
    let best: { name: string; distance: number } | undefined;
    for (const name of known) {
      const distance = editDistance(variable, name);
      if (distance <= (name.length >= 10 ? 2 : 1) && (!best || distance < best.distance)) best = { name, distance };
    }
    if (best) found.push({ variable, closest: best.name });
  }
  return found;
}
