import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ADMIN_TOKEN, PUBLISH_TOKEN, eventually } from './herald.js';

export const MAIN_JS = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

export interface HeraldProcess {
  child: ChildProcess;
  url: string;
  port: number;
  stdout: string[];
  /** Resident set size of the server process, bytes (from /proc). */
  rss(): number;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs `node dist/main.js` as its own process (so its memory and signals are its own). */
export async function spawnHerald(env: Record<string, string> = {}): Promise<HeraldProcess> {
  const child = spawn(process.execPath, [MAIN_JS], {
    env: {
      PATH: process.env.PATH ?? '',
      PORT: '0',
      HOST: '127.0.0.1',
      ADMIN_TOKEN,
      PUBLISH_TOKEN,
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: string[] = [];
  let buffered = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    stdout.push(...lines);
  });
  child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const listening = await eventually(
    () => stdout.map((line) => JSON.parse(line)).find((entry) => entry.msg === 'herald listening'),
    15_000,
    'herald listening',
  );
  const port = listening.port as number;
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    port,
    stdout,
    exited,
    rss: () => {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
    },
    stop: async (signal: NodeJS.Signals = 'SIGKILL') => {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}
