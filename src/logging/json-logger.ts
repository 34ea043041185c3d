import { LoggerService } from '@nestjs/common';
import type { LogLevel } from '../config/herald-config.js';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Nest's own start-up chatter (modules loaded, every route mapped): `debug`, so `info` shows Herald's start line. */
const FRAMEWORK_CONTEXTS = new Set([
  'NestFactory',
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'NestApplication',
]);

/** Nest logs a failed listen before rejecting; main.ts reports it as one line naming the address. */
const LISTEN_FAILURE = /^Error: listen E[A-Z]+\b/;

/** Structured JSON lines on stdout: `{level, time, msg, context?, ...fields}`. */
export class JsonLogger implements LoggerService {
  constructor(
    private readonly level: LogLevel = 'info',
    private readonly out: (line: string) => void = (line) => process.stdout.write(line + '\n'),
  ) {}

  log(message: unknown, ...rest: unknown[]): void {
    this.emit('info', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.emit('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.emit('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.emit('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.emit('debug', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.emit('error', message, rest);
  }

  private emit(level: LogLevel, message: unknown, rest: unknown[]): void {
    // Nest passes the context name last; an Error's stack may come before it.
    const context = typeof rest[rest.length - 1] === 'string' ? (rest.pop() as string) : undefined;
    if (context !== undefined && FRAMEWORK_CONTEXTS.has(context)) {
      if (level === 'info' || (level === 'error' && typeof message === 'string' && LISTEN_FAILURE.test(message)))
        level = 'debug';
    }
    if (RANK[level] < RANK[this.level]) return;
    const entry: Record<string, unknown> = { level, time: new Date().toISOString() };
    if (context) entry.context = context;
    if (message instanceof Error) {
      entry.msg = message.message;
      entry.stack = message.stack;
    } else if (message !== null && typeof message === 'object') {
      Object.assign(entry, message);
      entry.msg ??= '';
    } else {
      entry.msg = String(message);
    }
    const stack = rest.find((value) => typeof value === 'string' && value.includes('\n    at '));
    if (stack) entry.stack = stack;
    this.out(JSON.stringify(entry));
  }
}
