import type { OutgoingHttpHeaders } from 'node:http';
import { Writable } from 'node:stream';

/**
 * What Nest's `@Sse` machinery writes to. Nest still decides when the response
 * starts (after guards, handler and interceptors) and when it ends (client
 * gone, Observable complete); its headers are forwarded to the real response.
 * Its per-message formatting is never used: Herald writes pre-encoded frames
 * to the socket itself (ARCHITECTURE.md, "The hot path"), and the lone `\n`
 * Nest writes after the headers is dropped so `retry:` is the first line.
 */
export class SseSink extends Writable {
  constructor(
    private readonly onHead: (statusCode: number, headers: OutgoingHttpHeaders) => void,
    onEnd: () => void,
  ) {
    super({ write: (_chunk, _encoding, done) => done() });
    this.once('finish', onEnd);
  }

  writeHead(statusCode: number, headers: OutgoingHttpHeaders): this {
    this.onHead(statusCode, headers);
    return this;
  }

  flushHeaders(): void {}
}
