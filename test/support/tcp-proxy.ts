import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP relay in front of a real service (Redis), so a test can cut
 * one process's network path and restore it: a real outage for that process
 * only, while the service and every other client go on.
 */
export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  /** Whether it accepts connections now. */
  get listening(): boolean {
    return this.server !== undefined;
  }

  /** Accepts and relays connections (on the same port as before, if it ran before). */
  async open(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.targetPort, this.targetHost);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    this.server = server;
  }

  /** Drops every relayed connection and refuses new ones until `open()`. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** A free loopback port with nothing listening on it (connections are refused). */
  static async closedPort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const address = server.address();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return typeof address === 'object' && address ? address.port : 0;
  }
}
