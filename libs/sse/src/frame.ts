/**
 * Server-Sent Events wire encoding (WHATWG HTML, "Server-sent events").
 * Every function returns complete lines; a payload can never end a frame early
 * or smuggle a field: CR, LF and CRLF in data become separate `data:` lines,
 * and `id`/`event`/comment values are stripped of CR, LF and NUL.
 */

const LINE_BREAK = /\r\n|\r|\n/;
const FORBIDDEN_IN_FIELD = /[\r\n\0]/g;

export interface SseFrame {
  id?: string;
  event?: string;
  data: string;
  retry?: number;
}

function fieldValue(value: string): string {
  return value.replace(FORBIDDEN_IN_FIELD, '');
}

/** `data:` lines for a payload, one per line of it; an empty payload is one empty `data:` line. */
export function encodeData(data: string): string {
  if (!/[\r\n]/.test(data)) return `data: ${data}\n`;
  let out = '';
  for (const line of data.split(LINE_BREAK)) out += `data: ${line}\n`;
  return out;
}

/** One complete frame, terminated by the blank line that dispatches it. */
export function encodeFrame(frame: SseFrame): string {
  let out = '';
  if (frame.id !== undefined) out += `id: ${fieldValue(frame.id)}\n`;
  if (frame.event !== undefined && frame.event !== 'message') {
    out += `event: ${fieldValue(frame.event)}\n`;
  }
  if (frame.retry !== undefined) out += encodeRetryField(frame.retry);
  return out + encodeData(frame.data) + '\n';
}

function encodeRetryField(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new RangeError(`retry must be a non-negative integer, got ${ms}`);
  return `retry: ${ms}\n`;
}

/** `retry: <ms>` on its own, followed by the blank line. */
export function encodeRetry(ms: number): string {
  return encodeRetryField(ms) + '\n';
}

/** A comment (ignored by clients); line breaks in the text become separate comment lines. */
export function encodeComment(text: string): string {
  let out = '';
  for (const line of text.replace(/\0/g, '').split(LINE_BREAK)) out += line === '' ? ':\n' : `: ${line}\n`;
  return out + '\n';
}

/** The text a JSON value is sent as in `raw` format: a string as it is, anything else as JSON. */
export function payloadText(data: unknown): string {
  return typeof data === 'string' ? data : JSON.stringify(data);
}
