import { connect, type Socket } from 'node:net';

export interface RawAnswer {
  status: number;
  /** Header names lower-cased; a repeated header keeps its last value. */
  headers: Record<string, string>;
  body: string;
  /** The server closed the connection. */
  closed: boolean;
}

/**
 * Sends `text` as is on a fresh TCP connection and collects the answer head and
 * the bytes after it until the server closes or `waitMs` pass (a raw client
 * that can send what fetch refuses to: odd codings, `Connection` headers).
 */
export function rawHttp(
  port: number,
  text: string | Buffer,
  options: { waitMs?: number; localAddress?: string } = {},
): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket: Socket = connect({ host: '127.0.0.1', port, localAddress: options.localAddress });
    let raw = Buffer.alloc(0);
    let closed = false;
    const finish = (): void => {
      clearTimeout(timer);
      socket.destroy();
      const all = raw.toString('latin1');
      const end = all.indexOf('\r\n\r\n');
      const [statusLine = '', ...lines] = (end === -1 ? all : all.slice(0, end)).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const body = end === -1 ? '' : raw.subarray(Buffer.byteLength(all.slice(0, end + 4), 'latin1')).toString();
      resolve({ status: Number(statusLine.split(' ')[1] ?? 0), headers, body, closed });
    };
    const timer = setTimeout(finish, options.waitMs ?? 3_000);
    socket.on('data', (chunk: Buffer) => (raw = Buffer.concat([raw, chunk])));
    socket.on('close', () => {
      closed = true;
      finish();
    });
    socket.on('error', () => undefined);
    socket.write(text);
  });
}
