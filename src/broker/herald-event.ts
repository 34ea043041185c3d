import { EncodedFrame } from '@herald/nest-sse';
import { payloadText } from '@herald/sse';

export type StreamFormat = 'raw' | 'envelope';

/**
 * One published event. Its wire bytes are encoded at most once per format
 * (inside their own HTTP/1.1 chunk) and then shared by every subscriber and
 * every replay: a broadcast to N connections costs N socket writes of the
 * same Buffer and nothing more.
 */
export class HeraldEvent {
  private rawFrame?: EncodedFrame;
  private envelopeFrame?: EncodedFrame;

  constructor(
    readonly id: string,
    readonly seq: number,
    readonly topic: string,
    readonly type: string,
    readonly data: unknown,
    /** Publish time, ms since the epoch. */
    readonly ts: number,
  ) {}

  /** The encoded frame (`id:`, `event:`, `data:` lines, blank line), shared by every stream. */
  encoded(format: StreamFormat): EncodedFrame {
    if (format === 'raw') return (this.rawFrame ??= this.encode(payloadText(this.data)));
    return (this.envelopeFrame ??= this.encode(JSON.stringify(this.envelope())));
  }

  /** The SSE frame's bytes. */
  frame(format: StreamFormat): Buffer {
    return this.encoded(format).bytes;
  }

  /** The same frame wrapped as one HTTP/1.1 chunk, for chunked responses. */
  chunk(format: StreamFormat): Buffer {
    return this.encoded(format).chunk;
  }

  envelope(): { topic: string; type: string; data: unknown; ts: number } {
    return { topic: this.topic, type: this.type, data: this.data, ts: this.ts };
  }

  toJSON(): { id: string; topic: string; type: string; data: unknown; ts: number } {
    return { id: this.id, topic: this.topic, type: this.type, data: this.data, ts: this.ts };
  }

  private encode(payload: string): EncodedFrame {
    return EncodedFrame.of({ id: this.id, event: this.type, data: payload });
  }
}
