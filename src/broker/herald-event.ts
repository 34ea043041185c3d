import { encodeFrame, payloadText } from '@herald/sse';

export type StreamFormat = 'raw' | 'envelope';

/** Hex length + CRLF framing of one HTTP/1.1 chunk. */
function chunked(frame: Buffer): Buffer {
  const head = Buffer.from(`${frame.length.toString(16)}\r\n`, 'latin1');
  return Buffer.concat([head, frame, Buffer.from('\r\n', 'latin1')]);
}

/**
 * One published event. Its wire bytes are encoded at most once per format and
 * framing and then shared by every subscriber and every replay: a broadcast to
 * N connections costs N socket writes of the same Buffer and nothing more.
 */
export class HeraldEvent {
  private rawFrame?: Buffer;
  private envelopeFrame?: Buffer;
  private rawChunk?: Buffer;
  private envelopeChunk?: Buffer;

  constructor(
    readonly id: string,
    readonly seq: number,
    readonly topic: string,
    readonly type: string,
    readonly data: unknown,
    /** Publish time, ms since the epoch. */
    readonly ts: number,
  ) {}

  /** The SSE frame (`id:`, `event:`, `data:` lines, blank line). */
  frame(format: StreamFormat): Buffer {
    if (format === 'raw') return (this.rawFrame ??= this.encode(payloadText(this.data)));
    return (this.envelopeFrame ??= this.encode(JSON.stringify(this.envelope())));
  }

  /** The same frame wrapped as one HTTP/1.1 chunk, for chunked responses. */
  chunk(format: StreamFormat): Buffer {
    if (format === 'raw') return (this.rawChunk ??= chunked(this.frame('raw')));
    return (this.envelopeChunk ??= chunked(this.frame('envelope')));
  }

  envelope(): { topic: string; type: string; data: unknown; ts: number } {
    return { topic: this.topic, type: this.type, data: this.data, ts: this.ts };
  }

  toJSON(): { id: string; topic: string; type: string; data: unknown; ts: number } {
    return { id: this.id, topic: this.topic, type: this.type, data: this.data, ts: this.ts };
  }

  private encode(payload: string): Buffer {
    return Buffer.from(encodeFrame({ id: this.id, event: this.type, data: payload }), 'utf8');
  }
}
