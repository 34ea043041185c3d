import { ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { json } from 'express';
import type { Server } from 'node:http';
import { AppModule } from './app.module.js';
import type { HeraldConfig } from './config/herald-config.js';
import { HttpErrorFilter } from './http/http-error.filter.js';
import { limitIncompleteRequests } from './http/incomplete-requests.js';
import { checkJsonDepth } from './http/json-body.js';
import { requestHygiene } from './http/request-hygiene.js';
import { JsonLogger } from './logging/json-logger.js';
import { InFlightKeys } from './streams/idempotency.js';
import { setupOpenApi } from './openapi/openapi.js';

export interface HeraldOptions {
  logger?: JsonLogger;
}

/** Builds the Herald application (not yet listening): shared by main.ts and the tests. */
export async function createHerald(config: HeraldConfig, options: HeraldOptions = {}): Promise<NestExpressApplication> {
  const logger = options.logger ?? new JsonLogger(config.logLevel);
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    logger,
    bodyParser: false,
    // Open streams must not hold shutdown hostage (nestjs/nest#9517); the drain closes them first.
    forceCloseConnections: true,
  });
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  app.use(requestHygiene);
  app.enableCors({
    origin: config.corsOrigins === '*' ? '*' : config.corsOrigins,
    credentials: config.corsOrigins !== '*',
    allowedHeaders: ['Authorization', 'Content-Type', 'Last-Event-ID', 'Cache-Control', 'Idempotency-Key'],
    exposedHeaders: ['Retry-After', 'Idempotent-Replayed'],
    maxAge: 600,
  });
  // Before the body is read: a second publish with a key still in flight is a 409, not a second publish.
  app.use(new InFlightKeys().middleware(config));
  // A batch may carry up to 1,000 events; a single event's size is checked against MAX_EVENT_BYTES.
  // strict: false, so a body that is JSON but not an object is told what shape is expected.
  // express.json itself: Nest's useBodyParser reserves `verify` for its rawBody option.
  app.use(
    json({
      limit: Math.max(8 * 1024 * 1024, 2 * config.maxEventBytes),
      type: 'application/json',
      strict: false,
      verify: checkJsonDepth(config.maxEventBytes),
    }),
  );
  app.useGlobalFilters(new HttpErrorFilter(config.retryAfterSeconds));
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true }));
  setupOpenApi(app);
  // No enableShutdownHooks(): main.ts drains on SIGTERM/SIGINT first (health/shutdown-signals.ts).
  tuneServer(app.getHttpServer() as Server);
  limitIncompleteRequests(app.getHttpServer() as Server);
  return app;
}

/**
 * Long streams must never be cut by Node's request timers, and an idle
 * keep-alive socket must outlive a load balancer's (60 s) so Herald never
 * closes one the balancer is about to reuse.
 */
function tuneServer(server: Server): void {
  server.keepAliveTimeout = 65_000;
  server.timeout = 0;
  server.on('connection', (socket) => socket.setNoDelay(true));
}
