import { encodeFrame, type SseFrame } from '@herald/sse';

const CRLF = '\r\n';

/**
 * One SSE frame, encoded once and shared by every stream it is written to. The
 * bytes live inside their own HTTP/1.1 chunk (`<hex length>\r\n<frame>\r\n`):
 * a chunked response writes `chunk`, an HTTP/1.0 one `bytes`, both views of
 * one allocation, so a broadcast to N streams is N socket writes of one Buffer.
 */
export class EncodedFrame {
  /** The frame as one HTTP/1.1 chunk. */
  readonly chunk: Buffer;
  /** The frame itself (a view into `chunk`). */
  readonly bytes: Buffer;

  constructor(text: string) {
    const length = Buffer.byteLength(text, 'utf8');
    const head = `${length.toString(16)}${CRLF}`;
    this.chunk = Buffer.allocUnsafe(head.length + length + CRLF.length);
    this.chunk.write(head, 0, 'latin1');
    this.chunk.write(text, head.length, 'utf8');
    this.chunk.write(CRLF, head.length + length, 'latin1');
    this.bytes = this.chunk.subarray(head.length, head.length + length);
  }

  /** Encodes a frame from its fields (`data` is split into `data:` lines; no field can be smuggled). */
  static of(frame: SseFrame): EncodedFrame {
    return new EncodedFrame(encodeFrame(frame));
  }

  /** Bytes of the frame itself, without chunk framing. */
  get size(): number {
    return this.bytes.length;
  }
}

/** Nest's `MessageEvent`: what an `@Sse()` handler's Observable emits when it does not pre-encode. */
export interface MessageEvent {
  data: string | object;
  id?: string;
  type?: string;
  retry?: number;
}

/** What a stream's Observable may emit: a Nest `MessageEvent`, or a frame encoded once for many streams. */
export type StreamItem = MessageEvent | EncodedFrame;

/** The frame for one Observable item. */
export function toFrame(item: StreamItem): EncodedFrame {
  if (item instanceof EncodedFrame) return item;
  const data = typeof item.data === 'string' ? item.data : JSON.stringify(item.data);
  return EncodedFrame.of({ id: item.id, event: item.type, retry: item.retry, data });
}
