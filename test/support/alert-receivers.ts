import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { eventually } from './herald.js';

/** One request as the receiver got it: the raw body, so a signature can be checked byte for byte. */
export interface ReceivedRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  json: unknown;
  at: number;
}

/** What a path answers: a status code (with headers), or `hang` (read the request, never answer). */
export type ReceiverBehaviour = number | 'hang' | { status: number; headers: Record<string, string> };

/**
 * A real HTTP server on 127.0.0.1 standing in for Slack and webhook
 * receivers. Every request is recorded, whatever the path answers.
 */
export class HttpReceiver {
  readonly requests: ReceivedRequest[] = [];
  private readonly behaviour = new Map<string, ReceiverBehaviour[]>();
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;

  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const path = req.url ?? '/';
        let json: unknown;
        try {
          json = JSON.parse(body);
        } catch {
          json = undefined;
        }
        this.requests.push({ path, headers: req.headers, body, json, at: Date.now() });
        this.answer(path, res);
      });
    });
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  url(path: string): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }

  /** How `path` answers from now on (default 200); given several, one request each, the last one from then on. */
  on(path: string, ...behaviours: ReceiverBehaviour[]): this {
    this.behaviour.set(path, behaviours);
    return this;
  }

  to(path: string): ReceivedRequest[] {
    return this.requests.filter((request) => request.path === path);
  }

  /** Waits until `path` has received `count` requests; returns them. */
  waitFor(path: string, count: number, timeoutMs = 5_000): Promise<ReceivedRequest[]> {
    return eventually(
      () => (this.to(path).length >= count ? this.to(path) : undefined),
      timeoutMs,
      `${count} request(s) to ${path}`,
    );
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private answer(path: string, res: ServerResponse): void {
    const script = this.behaviour.get(path) ?? [];
    const behaviour = (script.length > 1 ? script.shift() : script[0]) ?? 200;
    if (behaviour === 'hang') return;
    const { status, headers } = typeof behaviour === 'number' ? { status: behaviour, headers: {} } : behaviour;
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify({ ok: status < 300 }));
  }
}

/** One message as the SMTP server got it. */
export interface ReceivedMail {
  user: string | undefined;
  from: string;
  to: string[];
  subject: string;
  text: string;
  raw: string;
}

/** Header lines unfolded, quoted-printable soft breaks and escapes undone: enough for plain-text alerts. */
function parseMail(raw: string): { subject: string; text: string } {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  let body = raw.slice(split + 4);
  if (/^content-transfer-encoding:\s*quoted-printable/im.test(head)) {
    body = body
      .replace(/=\r\n/g, '')
      .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  }
  const subject = /^subject: (.*)$/im.exec(head)?.[1] ?? '';
  return { subject, text: body.replace(/\r\n/g, '\n') };
}

/** A real SMTP server (smtp-server) on 127.0.0.1 that requires AUTH with the given credentials. */
export class SmtpReceiver {
  readonly messages: ReceivedMail[] = [];
  private readonly server: SMTPServer;

  constructor(
    readonly user: string,
    readonly password: string,
  ) {
    this.server = new SMTPServer({
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      logger: false,
      onAuth: (auth, _session, callback) => {
        if (auth.username === user && auth.password === password) callback(null, { user });
        else callback(new Error('Invalid username or password'));
      },
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          this.messages.push({
            user: typeof session.user === 'string' ? session.user : undefined,
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
            raw,
            ...parseMail(raw),
          });
          callback();
        });
      },
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  get port(): number {
    return (this.server.server.address() as AddressInfo).port;
  }

  waitFor(count: number, timeoutMs = 5_000): Promise<ReceivedMail[]> {
    return eventually(() => (this.messages.length >= count ? this.messages : undefined), timeoutMs, `${count} mail(s)`);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
