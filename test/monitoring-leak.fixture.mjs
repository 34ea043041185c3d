// Test-only (test/monitoring-leak.e2e-spec.ts): the built Herald (dist/) in its own process, plus a
// Nest module that, once switched on (POST /test/leaky/start, until POST /test/leaky/stop), keeps
// LEAK_BYTES_PER_CONNECT bytes for every subscribe request — a real leak for the detector to find.
// Plain JavaScript so it runs on the compiled app; decorators are applied as functions.
import 'reflect-metadata';
import { Controller, Inject, Injectable, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

const dist = new URL(process.env.HERALD_DIST ?? '../dist/', import.meta.url);
const { loadConfig } = await import(new URL('src/config/herald-config.js', dist).href);
const { AppModule } = await import(new URL('src/app.module.js', dist).href);
const { JsonLogger } = await import(new URL('src/logging/json-logger.js', dist).href);

const LEAK_BYTES = Number(process.env.LEAK_BYTES_PER_CONNECT ?? 51_200);

// A few-second test window must span many full collections, as the default 10-minute window does in
// production, where V8 runs one every few seconds to minutes; left alone over a few seconds it may run none.
if (process.env.FULL_GC_EVERY_MS !== undefined)
  setInterval(() => globalThis.gc(), Number(process.env.FULL_GC_EVERY_MS));

class LeakyStore {
  leaking = false;
  retained = [];
  /** When the leak was switched on and off, ms since the epoch (0: not yet). */
  leakStartedAt = 0;
  leakStoppedAt = 0;

  /** Arrays of numbers, not strings: V8 may share a repeated string's structure instead of copying it. */
  onSubscribe() {
    if (this.leaking) this.retained.push(new Array(LEAK_BYTES / 8).fill(this.retained.length));
  }
}
Injectable()(LeakyStore);

class LeakyController {
  constructor(store) {
    this.store = store;
  }

  start() {
    this.store.leaking = true;
    this.store.leakStartedAt = Date.now();
    return this.answer();
  }

  stop() {
    this.store.leaking = false;
    this.store.leakStoppedAt = Date.now();
    return this.answer();
  }

  answer() {
    const { leaking, leakStartedAt, leakStoppedAt, retained } = this.store;
    return { leaking, leakStartedAt, leakStoppedAt, retained: retained.length };
  }
}
Inject(LeakyStore)(LeakyController, undefined, 0);
for (const name of ['start', 'stop']) {
  Post(name)(LeakyController.prototype, name, Object.getOwnPropertyDescriptor(LeakyController.prototype, name));
}
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
const store = app.get(LeakyStore);
app.getHttpServer().on('request', (request) => {
  if (request.url?.startsWith('/v1/events')) store.onSubscribe();
});
// main.ts's accept backlog, so a ramp of connections is queued, not reset.
await app.listen(0, '127.0.0.1', 4096);
process.stdout.write(
  `${JSON.stringify({ msg: 'leaky herald listening', port: app.getHttpServer().address().port })}\n`,
);
