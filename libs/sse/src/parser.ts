/**
 * A minimal incremental SSE parser for tests and tools that read raw bytes
 * (the browser client uses `eventsource-parser`). It follows the WHATWG
 * algorithm: lines end at CRLF, LF or CR; `:` starts a comment; a blank line
 * dispatches the event being built.
 */
export interface ParsedEvent {
  id?: string;
  event: string;
  data: string;
  retry?: number;
}

export interface ParsedChunk {
  events: ParsedEvent[];
  comments: string[];
  retries: number[];
}

export class SseParser {
  private buffer = '';
  private data: string[] = [];
  private event = '';
  private id: string | undefined;
  private hasFields = false;
  private pendingCr = false;

  feed(chunk: string): ParsedChunk {
    const out: ParsedChunk = { events: [], comments: [], retries: [] };
    let text = this.buffer + chunk;
    if (this.pendingCr && text.startsWith('\n')) text = text.slice(1);
    this.pendingCr = false;
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.line(text.slice(start, i), out);
      if (c === 13) {
        if (i + 1 === text.length) this.pendingCr = true;
        else if (text.charCodeAt(i + 1) === 10) i++;
      }
      start = i + 1;
    }
    this.buffer = text.slice(start);
    return out;
  }

  private line(line: string, out: ParsedChunk): void {
    if (line === '') {
      if (this.hasFields && this.data.length > 0) {
        out.events.push({ id: this.id, event: this.event || 'message', data: this.data.join('\n') });
      }
      this.data = [];
      this.event = '';
      this.hasFields = false;
      return;
    }
    if (line.startsWith(':')) {
      out.comments.push(line.slice(1).replace(/^ /, ''));
      return;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    this.hasFields = true;
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.id = value;
    else if (field === 'retry' && /^[0-9]+$/.test(value)) out.retries.push(Number(value));
  }
}
