import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ADMIN_TOKEN, PUBLISH_TOKEN, eventually } from './herald.js';

export const MAIN_JS = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** When the process exited (Date.now()). */
  at: number;
}

/**
 * `node dist/main.js` as a child process, as an orchestrator runs it: its own
 * signals, exit code and JSON log lines (for drain and shutdown tests).
 */
export class HeraldChild {
  readonly logs: Record<string, unknown>[] = [];
  stderr = '';
  url = '';
  port = 0;
  readonly exited: Promise<ChildExit>;
  private readonly child: ChildProcess;

  /** Spawns the process; `start()` also waits until it listens. */
  constructor(env: Record<string, string>) {
    this.child = spawn(process.execPath, [MAIN_JS], {
      env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', ADMIN_TOKEN, PUBLISH_TOKEN, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    let partial = '';
    this.child.stdout?.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) this.logs.push(JSON.parse(line) as Record<string, unknown>);
    });
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
    );
  }

  /** Starts the process and waits until it listens; a process that dies or hangs first fails the start. */
  static async start<T extends HeraldChild>(
    this: new (env: Record<string, string>) => T,
    env: Record<string, string> = {},
  ): Promise<T> {
    const herald = new this(env);
    try {
      const listening = await eventually(
        () => {
          if (!herald.running) throw new Error(`herald exited before listening: ${herald.stderr.trim()}`);
          return herald.logs.find((line) => line.msg === 'herald listening');
        },
        30_000,
        'herald listening',
      );
      herald.port = Number(listening.port);
      herald.url = `http://127.0.0.1:${herald.port}`;
      return herald;
    } catch (error) {
      await herald.stop();
      throw error;
    }
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  logged(msg: string): Record<string, unknown>[] {
    return this.logs.filter((line) => line.msg === msg);
  }

  waitForLog(msg: string, timeoutMs = 5_000): Promise<Record<string, unknown>> {
    return eventually(() => this.logged(msg)[0], timeoutMs, `log line "${msg}"`);
  }

  /** Resident set size of the process, bytes (from /proc, so the test's own memory never counts). */
  rss(): number {
    try {
      const status = readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
    } catch {
      return 0; // exited
    }
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Kills the process if it still runs (test clean-up). */
  async stop(): Promise<ChildExit> {
    if (this.running) this.child.kill('SIGKILL');
    return this.exited;
  }
}
