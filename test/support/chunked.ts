/**
 * The body of the last HTTP/1.1 response in `text` (raw bytes as read from a
 * socket), de-chunked; `<end>` marks the terminating zero-length chunk.
 */
export function lastChunkedBody(text: string): string {
  const start = text.lastIndexOf('HTTP/1.1 ');
  let rest = text.slice(text.indexOf('\r\n\r\n', Math.max(0, start)) + 4);
  let out = '';
  for (;;) {
    const line = rest.indexOf('\r\n');
    if (line < 0) return out;
    const size = parseInt(rest.slice(0, line), 16);
    if (!(size >= 0)) return out;
    if (size === 0) return `${out}<end>`;
    const chunk = Buffer.from(rest.slice(line + 2), 'utf8')
      .subarray(0, size)
      .toString('utf8');
    out += chunk;
    rest = rest.slice(line + 2 + chunk.length + 2);
  }
}
