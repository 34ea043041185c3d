import { describe, expect, it } from '@jest/globals';
import { JsonLogger } from './json-logger.js';

function capture(level: 'debug' | 'info'): { logger: JsonLogger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { logger: new JsonLogger(level, (line) => lines.push(JSON.parse(line) as Record<string, unknown>)), lines };
}

describe('JsonLogger', () => {
  it("writes Nest's start-up listing at debug, Herald's own lines at their level", () => {
    const { logger, lines } = capture('info');
    logger.log('Mapped {/v1/events, GET} route', 'RouterExplorer');
    logger.log('AppModule dependencies initialized', 'InstanceLoader');
    logger.log('Nest application successfully started', 'NestApplication');
    logger.log({ msg: 'herald listening', port: 3000 }, 'Herald');
    expect(lines).toEqual([
      { level: 'info', time: expect.any(String), context: 'Herald', msg: 'herald listening', port: 3000 },
    ]);

    const debug = capture('debug');
    debug.logger.log('Mapped {/v1/events, GET} route', 'RouterExplorer');
    expect(debug.lines).toEqual([
      { level: 'debug', time: expect.any(String), context: 'RouterExplorer', msg: 'Mapped {/v1/events, GET} route' },
    ]);
  });

  it("keeps Nest's errors, except a failed listen that main.ts reports itself", () => {
    const { logger, lines } = capture('info');
    logger.error('Error: listen EADDRINUSE: address already in use 127.0.0.1:3000', 'NestApplication');
    logger.error('Nest could not find Foo element', 'NestApplication');
    logger.error('Error: listen EADDRINUSE: address already in use 127.0.0.1:3000', 'Herald');
    expect(lines.map((line) => [line.level, line.context, line.msg])).toEqual([
      ['error', 'NestApplication', 'Nest could not find Foo element'],
      ['error', 'Herald', 'Error: listen EADDRINUSE: address already in use 127.0.0.1:3000'],
    ]);
  });
});
