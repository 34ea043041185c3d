import 'reflect-metadata';
import { ConfigError, loadConfig, misspeltVariables, type HeraldConfig } from './config/herald-config.js';
import { drainOnSignals } from './health/shutdown-signals.js';
import { createHerald } from './herald.js';
import { JsonLogger } from './logging/json-logger.js';

const LISTEN_BACKLOG = 4096;

/** Listen failures an operator fixes with PORT or HOST, answered with one line instead of a stack trace. */
const LISTEN_ERRORS: Record<string, string> = {
  EADDRINUSE: 'the address is already in use (another process listens there; set PORT or stop it)',
  EACCES: 'permission denied (ports below 1024 need privileges; set PORT)',
  EADDRNOTAVAIL: 'the address is not one of this machine (set HOST)',
};

/** `host:port` as a URL authority, IPv6 in brackets; the wildcard addresses as `localhost`, where a browser reaches them. */
function authority(host: string, port: number): string {
  if (host === '0.0.0.0' || host === '::') return `localhost:${port}`;
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

async function main(): Promise<void> {
  let config: HeraldConfig;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`herald: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger = new JsonLogger(config.logLevel);
  for (const { variable, closest } of misspeltVariables(process.env)) {
    logger.warn(
      { msg: `unknown variable ${variable} is ignored; did you mean ${closest}?`, variable, closest },
      'Config',
    );
  }
  const app = await createHerald(config, { logger });
  // Before listening, so a signal during start-up drains (a no-op) and exits 0 too.
  drainOnSignals(app, logger);
  // Nest forwards extra arguments to server.listen: a deep accept backlog (Node's default is 511)
  // so a connection storm is answered with 503s, not SYN-queue resets and timeouts.
  const listen = app.listen.bind(app) as unknown as (port: number, host: string, backlog: number) => Promise<unknown>;
  try {
    await listen(config.port, config.host, LISTEN_BACKLOG);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (!(code in LISTEN_ERRORS)) throw error;
    process.stderr.write(`herald: cannot listen on ${authority(config.host, config.port)}: ${LISTEN_ERRORS[code]}\n`);
    process.exit(1);
  }
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const base = `http://${authority(config.host, port)}`;
  const started = {
    msg: 'herald listening',
    host: config.host,
    port,
    broker: config.broker,
    pid: process.pid,
    urls: {
      streams: `${base}/v1/events`,
      dashboard: `${base}/dashboard`,
      docs: `${base}/docs`,
      metrics: `${base}/metrics`,
    },
  };
  if (!config.adminTokenGenerated) {
    logger.log(started, 'Herald');
  } else if (config.logLevel === 'debug' || config.logLevel === 'info') {
    logger.log(
      { ...started, adminToken: config.adminToken, note: 'ADMIN_TOKEN was not set; generated one for this run' },
      'Herald',
    );
  } else {
    // Above `info` the start line is not written; the generated token must still be shown once.
    logger.warn(
      { msg: 'ADMIN_TOKEN was not set; generated one for this run', adminToken: config.adminToken },
      'Herald',
    );
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`herald: failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
