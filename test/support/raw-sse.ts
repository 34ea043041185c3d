import { connect, type Socket } from 'node:net';
import { SseParser, type ParsedEvent } from '../../libs/sse/src/parser.js';
import { eventually } from './herald.js';

export interface RawSseOptions {
  headers?: Record<string, string>;
  localAddress?: string;
  /** Do not read from the socket (a stalled client). */
  paused?: boolean;
}

/**
 * An SSE client on a raw TCP socket: it sees the exact bytes (status line,
 * headers, the de-chunked body) and parses frames with the reference parser.
 */
export class RawSseClient {
  readonly socket: Socket;
  status = 0;
  head = '';
  headers: Record<string, string> = {};
  /** The response body exactly as sent, after HTTP chunked decoding. */
  body = '';
  events: ParsedEvent[] = [];
  comments: string[] = [];
  retries: number[] = [];
  closed = false;
  /** The response ended (last chunk received, or the socket closed). */
  ended = false;
  private raw = Buffer.alloc(0);
  private headDone = false;
  private chunked = false;
  private readonly parser = new SseParser();

  constructor(url: string, options: RawSseOptions = {}) {
    const target = new URL(url);
    this.socket = connect({ host: target.hostname, port: Number(target.port), localAddress: options.localAddress });
    const headers = { host: target.host, accept: 'text/event-stream', ...options.headers };
    const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
    this.socket.write(`GET ${target.pathname}${target.search} HTTP/1.1\r\n${lines.join('')}\r\n`);
    if (options.paused) this.socket.pause();
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('close', () => (this.closed = this.ended = true));
    this.socket.on('error', () => (this.closed = this.ended = true));
  }

  private onData(chunk: Buffer): void {
    this.raw = Buffer.concat([this.raw, chunk]);
    if (!this.headDone) {
      const end = this.raw.indexOf('\r\n\r\n');
      if (end === -1) return;
      this.head = this.raw.subarray(0, end).toString('latin1');
      this.raw = this.raw.subarray(end + 4);
      this.headDone = true;
      const [statusLine, ...headerLines] = this.head.split('\r\n');
      this.status = Number(statusLine.split(' ')[1]);
      for (const line of headerLines) {
        const colon = line.indexOf(':');
        this.headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      this.chunked = /chunked/i.test(this.headers['transfer-encoding'] ?? '');
    }
    const text = this.chunked ? this.dechunk() : this.take(this.raw.length);
    if (text) this.consume(text);
    const length = Number(this.headers['content-length'] ?? NaN);
    if (!this.chunked && Buffer.byteLength(this.body) >= length) this.ended = true;
  }

  private take(length: number): string {
    const text = this.raw.subarray(0, length).toString('utf8');
    this.raw = this.raw.subarray(length);
    return text;
  }

  private dechunk(): string {
    let out = '';
    for (;;) {
      const lineEnd = this.raw.indexOf('\r\n');
      if (lineEnd === -1) return out;
      const size = parseInt(this.raw.subarray(0, lineEnd).toString('latin1'), 16);
      if (this.raw.length < lineEnd + 2 + size + 2) return out;
      out += this.raw.subarray(lineEnd + 2, lineEnd + 2 + size).toString('utf8');
      this.raw = this.raw.subarray(lineEnd + 2 + size + 2);
      if (size === 0) {
        this.ended = true;
        return out;
      }
    }
  }

  private consume(text: string): void {
    this.body += text;
    const parsed = this.parser.feed(text);
    this.events.push(...parsed.events);
    this.comments.push(...parsed.comments);
    this.retries.push(...parsed.retries);
  }

  /** JSON body of a refused (non-200) response. */
  json(): unknown {
    return JSON.parse(this.body);
  }

  waitForStatus(timeoutMs = 5_000): Promise<number> {
    return eventually(() => this.status || undefined, timeoutMs, 'response status');
  }

  waitForEvents(count: number, timeoutMs = 5_000): Promise<ParsedEvent[]> {
    return eventually(() => (this.events.length >= count ? this.events : undefined), timeoutMs, `${count} events`);
  }

  waitForBody(predicate: (body: string) => boolean, timeoutMs = 5_000): Promise<string> {
    return eventually(() => (predicate(this.body) ? this.body : undefined), timeoutMs, 'body');
  }

  waitForClose(timeoutMs = 5_000): Promise<true> {
    return eventually(() => this.closed, timeoutMs, 'socket close');
  }

  waitForEnd(timeoutMs = 5_000): Promise<true> {
    return eventually(() => this.ended, timeoutMs, 'end of response');
  }

  close(): void {
    this.socket.destroy();
  }
}
