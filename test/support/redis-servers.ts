import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { eventually } from './poll.js';
import { TcpProxy } from './tcp-proxy.js';

/** Every redis-server this module started and has not seen exit: killed if the test process exits first. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * A private `redis-server` (or Sentinel) process on a free loopback port, in a
 * temporary directory, without persistence, started and stopped by the test
 * itself (never the shared Redis on 6379).
 */
export class RedisProcess {
  output = '';
  readonly exited: Promise<void>;
  private readonly child: ChildProcess;

  private constructor(
    readonly port: number,
    readonly dir: string,
    args: string[],
  ) {
    this.child = spawn('redis-server', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(this.child);
    for (const stream of [this.child.stdout, this.child.stderr]) {
      stream?.on('data', (chunk: Buffer) => (this.output = (this.output + chunk.toString()).slice(-20_000)));
    }
    this.exited = new Promise((resolve) =>
      this.child.on('exit', () => {
        running.delete(this.child);
        resolve();
      }),
    );
    this.child.on('error', (error) => (this.output += `\nspawn failed: ${error.message}`));
  }

  /** A data node: `--replicaof` makes it a replica. */
  static server(extra: string[] = []): Promise<RedisProcess> {
    return RedisProcess.spawn((port, dir) => [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      // A replica's first sync starts at once, not after the default 5 s diskless delay.
      '--repl-diskless-sync-delay',
      '0',
      '--repl-ping-replica-period',
      '1',
      ...extra,
    ]);
  }

  /** A Sentinel: its config file lives in the temp dir, since Sentinel rewrites it. */
  static sentinel(config: string[]): Promise<RedisProcess> {
    return RedisProcess.spawn((port, dir) => {
      const file = join(dir, 'sentinel.conf');
      writeFileSync(file, [`port ${port}`, 'bind 127.0.0.1', `dir ${dir}`, ...config, ''].join('\n'));
      return [file, '--sentinel'];
    });
  }

  private static async spawn(args: (port: number, dir: string) => string[]): Promise<RedisProcess> {
    const dir = mkdtempSync(join(tmpdir(), 'herald-redis-'));
    const port = await TcpProxy.closedPort();
    const node = new RedisProcess(port, dir, args(port, dir));
    // Settled once it answers or has died; a death or 10 s of silence fails the start.
    const settled = () => node.answers().then((answers) => answers || !node.running);
    const answered = await eventually(settled, 10_000, 'redis-server', 50).then(
      () => node.running,
      () => false,
    );
    if (!answered) {
      await node.stop();
      throw new Error(`redis-server on port ${port} did not start: ${node.output.trim()}`);
    }
    return node;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** A short-lived client that fails fast (for checks and admin commands). */
  client(): Redis {
    return new Redis({
      host: '127.0.0.1',
      port: this.port,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      connectTimeout: 1_000,
      commandTimeout: 2_000,
      retryStrategy: () => null,
    });
  }

  /** Runs one command on a fresh connection. */
  async call(command: string, ...args: (string | number)[]): Promise<unknown> {
    const client = this.client();
    client.on('error', () => undefined);
    try {
      await client.connect();
      return await client.call(command, ...args);
    } finally {
      client.disconnect();
    }
  }

  private async answers(): Promise<boolean> {
    try {
      return (await this.call('PING')) === 'PONG';
    } catch {
      return false;
    }
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** SIGKILLs the process if it still runs and removes its directory. */
  async stop(): Promise<void> {
    if (this.running) this.child.kill('SIGKILL');
    if (this.child.pid !== undefined) await this.exited;
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Whether `redis-server` can be started here (as a data node; Sentinel mode is the same binary). */
export async function redisServerStartable(): Promise<boolean> {
  try {
    const node = await RedisProcess.server();
    await node.stop();
    return true;
  } catch {
    return false;
  }
}

export interface SentinelGroupOptions {
  /** Sentinels watching the primary (default 3), and how many must agree it is down (default 2). */
  sentinels?: number;
  quorum?: number;
  downAfterMs?: number;
  failoverTimeoutMs?: number;
  /** The replica replicates through this relay (so a test can cut replication alone). */
  replicationProxy?: boolean;
}

const field = (reply: unknown, name: string): string | undefined => {
  const list = reply as string[];
  const at = list.indexOf(name);
  return at >= 0 && at % 2 === 0 ? list[at + 1] : undefined;
};

const GROUP_NAME = 'herald-primary';

/** A primary, one replica and Sentinels watching them, all private to one test. */
export class SentinelGroup {
  readonly name = GROUP_NAME;
  proxy: TcpProxy | undefined;

  private constructor(
    readonly primary: RedisProcess,
    readonly replica: RedisProcess,
    readonly sentinels: RedisProcess[],
  ) {}

  static async start(options: SentinelGroupOptions = {}): Promise<SentinelGroup> {
    const { sentinels = 3, quorum = 2, downAfterMs = 1_000, failoverTimeoutMs = 10_000 } = options;
    const primary = await RedisProcess.server();
    let proxy: TcpProxy | undefined;
    let upstream = primary.port;
    if (options.replicationProxy) {
      proxy = new TcpProxy('127.0.0.1', primary.port);
      await proxy.open();
      upstream = proxy.port;
    }
    const replica = await RedisProcess.server(['--replicaof', '127.0.0.1', String(upstream)]);
    const name = GROUP_NAME;
    const watchers = await Promise.all(
      Array.from({ length: sentinels }, () =>
        RedisProcess.sentinel([
          `sentinel monitor ${name} 127.0.0.1 ${primary.port} ${quorum}`,
          `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
          `sentinel failover-timeout ${name} ${failoverTimeoutMs}`,
        ]),
      ),
    );
    const group = new SentinelGroup(primary, replica, watchers);
    group.proxy = proxy;
    try {
      await group.waitUntilWatched(sentinels - 1);
    } catch (error) {
      await group.stop();
      throw error;
    }
    return group;
  }

  /** `redis+sentinel://` for Herald; `extra` sentinel addresses go first (e.g. a dead one). */
  url(extra: string[] = []): string {
    const hosts = [...extra, ...this.sentinels.map((sentinel) => `127.0.0.1:${sentinel.port}`)];
    return `redis+sentinel://${hosts.join(',')}/${this.name}`;
  }

  /** The port the Sentinels name as primary now (asked of the first one that answers). */
  async primaryPort(): Promise<number> {
    for (const sentinel of this.sentinels) {
      try {
        const reply = (await sentinel.call('SENTINEL', 'get-master-addr-by-name', this.name)) as string[];
        return Number(reply[1]);
      } catch {
        // Next one.
      }
    }
    throw new Error('no sentinel answers');
  }

  /** Waits until every Sentinel names `node` as the primary and it says so itself. */
  async waitForPrimary(node: RedisProcess, timeoutMs = 20_000): Promise<void> {
    const leads = async () => {
      const named = await Promise.all(
        this.sentinels.map((sentinel) =>
          sentinel.call('SENTINEL', 'get-master-addr-by-name', this.name).then(
            (reply) => Number((reply as string[])[1]) === node.port,
            () => false,
          ),
        ),
      );
      const role = await node.call('ROLE').then(
        (reply) => (reply as string[])[0],
        () => undefined,
      );
      return named.every(Boolean) && role === 'master';
    };
    await eventually(leads, timeoutMs, `${node.port} to lead`, 100);
  }

  /** Until every Sentinel sees the primary up, its replica, and the other Sentinels (so a vote can happen). */
  private async waitUntilWatched(otherSentinels: number): Promise<void> {
    let last: unknown;
    const settled = async () => {
      const replication = String(await this.replica.call('INFO', 'replication'));
      const views = await Promise.all(
        this.sentinels.map((sentinel) => sentinel.call('SENTINEL', 'master', this.name).catch(() => undefined)),
      );
      const ok = views.every(
        (view) =>
          view !== undefined &&
          field(view, 'flags') === 'master' &&
          field(view, 'num-slaves') === '1' &&
          Number(field(view, 'num-other-sentinels')) >= otherSentinels,
      );
      last = { replication, views };
      return ok && replication.includes('master_link_status:up');
    };
    await eventually(settled, 15_000, () => `the sentinels to settle: ${JSON.stringify(last)}`, 100);
  }

  async stop(): Promise<void> {
    await Promise.all([this.primary, this.replica, ...this.sentinels].map((node) => node.stop()));
    await this.proxy?.cut();
  }
}
