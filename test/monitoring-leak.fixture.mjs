// Test-only (test/monitoring-leak.e2e-spec.ts): the built Herald (dist/) in its own process, plus a
// Nest module whose endpoint keeps 64 KB per request once leaking (LEAKY=1 and POST /test/leaky/start,
// sent after the warm-up) — a real leak for the detector to find.
// Plain JavaScript so it runs on the compiled app; decorators are applied as functions.
import 'reflect-metadata';
import { Controller, Inject, Injectable, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

const dist = new URL(process.env.HERALD_DIST ?? '../dist/', import.meta.url);
const { loadConfig } = await import(new URL('src/config/herald-config.js', dist).href);
const { AppModule } = await import(new URL('src/app.module.js', dist).href);
const { JsonLogger } = await import(new URL('src/logging/json-logger.js', dist).href);

/** Elements (8 bytes each) of the array kept per request while leaking, and of the one thrown away. */
const LEAKED_ELEMENTS = 8_192;
const GARBAGE_ELEMENTS = 4_096;

// A 6-s test window must span many full collections, as the default 10-minute window does in production,
// where V8 runs one every few seconds to minutes; left alone over a few seconds it may run none.
if (process.env.FULL_GC_EVERY_MS !== undefined)
  setInterval(() => globalThis.gc(), Number(process.env.FULL_GC_EVERY_MS));

class LeakyStore {
  leaky = process.env.LEAKY === '1';
  leaking = false;
  retained = [];
  requests = 0;
  /** When the leak was switched on, ms since the epoch (0: not yet). */
  leakStartedAt = 0;
}
Injectable()(LeakyStore);

class LeakyController {
  constructor(store) {
    this.store = store;
  }

  handle() {
    const store = this.store;
    const n = ++store.requests;
    // Garbage either way, so the collector has a sawtooth to draw; kept only when leaking.
    // Arrays, not strings: V8 may share a repeated string's structure instead of copying it.
    const garbage = new Array(GARBAGE_ELEMENTS).fill(n);
    if (store.leaking) store.retained.push(new Array(LEAKED_ELEMENTS).fill(garbage[0]));
    return { requests: n, retained: store.retained.length };
  }

  /** The warm-up is over: from now on the leaky process keeps what it allocates. */
  start() {
    const store = this.store;
    if (store.leaky && !store.leaking) {
      store.leaking = true;
      store.leakStartedAt = Date.now();
    }
    return { leaking: store.leaking, leakStartedAt: store.leakStartedAt };
  }
}
Inject(LeakyStore)(LeakyController, undefined, 0);
Post()(LeakyController.prototype, 'handle', Object.getOwnPropertyDescriptor(LeakyController.prototype, 'handle'));
Post('start')(LeakyController.prototype, 'start', Object.getOwnPropertyDescriptor(LeakyController.prototype, 'start'));
Controller('test/leaky')(LeakyController);

class LeakyModule {}
Module({ controllers: [LeakyController], providers: [LeakyStore] })(LeakyModule);

const config = loadConfig(process.env);
class HeraldWithLeakyModule {}
Module({ imports: [AppModule.forRoot(config), LeakyModule] })(HeraldWithLeakyModule);

const app = await NestFactory.create(HeraldWithLeakyModule, {
  logger: new JsonLogger(config.logLevel),
  forceCloseConnections: true,
});
await app.listen(0, '127.0.0.1');
process.stdout.write(
  `${JSON.stringify({ msg: 'leaky herald listening', port: app.getHttpServer().address().port })}\n`,
);
