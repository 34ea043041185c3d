import 'reflect-metadata';
import { ConfigError, loadConfig, type HeraldConfig } from './config/herald-config.js';
import { drainOnSignals } from './health/shutdown-signals.js';
import { createHerald } from './herald.js';
import { JsonLogger } from './logging/json-logger.js';

const LISTEN_BACKLOG = 4096;

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
  const app = await createHerald(config, { logger });
  // Before listening, so a signal during start-up drains (a no-op) and exits 0 too.
  drainOnSignals(app, logger);
  if (config.adminTokenGenerated) {
    logger.warn(
      { msg: 'ADMIN_TOKEN was not set; generated one for this run', adminToken: config.adminToken },
      'Herald',
    );
  }
  // Nest forwards extra arguments to server.listen: a deep accept backlog (Node's default is 511)
  // so a connection storm is answered with 503s, not SYN-queue resets and timeouts.
  const listen = app.listen.bind(app) as unknown as (port: number, host: string, backlog: number) => Promise<unknown>;
  await listen(config.port, config.host, LISTEN_BACKLOG);
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  logger.log({ msg: 'herald listening', host: config.host, port, broker: config.broker }, 'Herald');
}

main().catch((error: unknown) => {
  process.stderr.write(`herald: failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
