import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));

function run(
  env: Record<string, string>,
  untilLine?: RegExp,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [main], { env: { PATH: process.env.PATH ?? '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      if (untilLine && untilLine.test(stdout)) child.kill('SIGKILL');
    });
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the built server process (node dist/main.js)', () => {
  it('is built', () => {
    expect(existsSync(main)).toBe(true);
  });

  it.each([
    ['MAX_CONNECTIONS', 'lots'],
    ['CAPACITY_THRESHOLD', '2'],
    ['BROKER', 'kafka'],
  ])('a bad %s=%s stops start-up with one clear line and exit code 1', async (name, value) => {
    const result = await run({ [name]: value, PORT: '0' });
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`${name}="${value}"`);
    expect(lines[0]).toMatch(/must be/);
  });

  it('logs JSON lines, and a generated admin token once', async () => {
    const result = await run({ PORT: '0', HOST: '127.0.0.1' }, /herald listening/);
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    for (const line of lines)
      expect(line).toMatchObject({ level: expect.any(String), time: expect.any(String), msg: expect.any(String) });
    expect(lines.filter((line) => line.adminToken !== undefined)).toHaveLength(1);
  });
});
