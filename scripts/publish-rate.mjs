#!/usr/bin/env node
// Publish requests/s of one or more builds, same machine, alternating runs:
//   node scripts/publish-rate.mjs [--seconds 5] [--publishers 32] [--rounds 3] <dist/main.js> [<other/dist/main.js> …]
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seconds: { type: 'string', default: '5' },
    publishers: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '3' },
  },
});
const TOKEN = 'publish-rate-token-0123456789';
const BODY = JSON.stringify({
  type: 'position',
  data: { truck: 42, lat: 52.52, lon: 13.405, tags: ['a', 'b'], ok: true },
});

function start(main) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [main], {
      env: {
        PATH: process.env.PATH,
        HOST: '127.0.0.1',
        PORT: '0',
        PUBLISH_TOKEN: TOKEN,
        ADMIN_TOKEN: TOKEN,
        LOG_LEVEL: 'info',
        PUBLISH_RATE_LIMIT: '100000000',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let buffer = '';
    child.stdout.on('data', (chunk) => {
      buffer += chunk;
      for (const line of buffer.split('\n')) {
        if (line.includes('"herald listening"')) resolve({ child, port: JSON.parse(line).port });
      }
    });
    child.on('exit', (code) => reject(new Error(`${main} exited ${code}`)));
  });
}

async function measure(port, seconds, publishers) {
  const agent = new Agent({ keepAlive: true, maxSockets: publishers });
  const deadline = Date.now() + seconds * 1000;
  let done = 0;
  let failed = 0;
  const one = () =>
    new Promise((resolve) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: '/v1/topics/bench/events',
          method: 'POST',
          agent,
          headers: {
            authorization: `Bearer ${TOKEN}`,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(BODY),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode === 202) done++;
            else failed++;
            resolve();
          });
        },
      );
      req.on('error', () => {
        failed++;
        resolve();
      });
      req.end(BODY);
    });
  const worker = async () => {
    while (Date.now() < deadline) await one();
  };
  await Promise.all(Array.from({ length: publishers }, worker));
  agent.destroy();
  return { rate: Math.round(done / seconds), failed };
}

const seconds = Number(values.seconds);
const publishers = Number(values.publishers);
const results = Object.fromEntries(positionals.map((main) => [main, []]));
for (let round = 0; round < Number(values.rounds); round++) {
  for (const main of round % 2 === 0 ? positionals : [...positionals].reverse()) {
    const { child, port } = await start(main);
    await measure(port, 1, publishers); // warm-up
    const { rate, failed } = await measure(port, seconds, publishers);
    results[main].push(rate);
    console.log(`round ${round + 1} ${main}: ${rate} publish/s${failed ? ` (${failed} failed)` : ''}`);
    child.kill('SIGKILL');
  }
}
for (const [main, rates] of Object.entries(results)) {
  const sorted = [...rates].sort((a, b) => a - b);
  console.log(`${main}: median ${sorted[Math.floor(sorted.length / 2)]} publish/s (${rates.join(', ')})`);
}
