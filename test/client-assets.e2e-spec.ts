import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { request, startHerald, type RunningHerald } from './support/herald.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

describe('Client assets: /client/herald.js, /client/herald-worker.js, /examples/fleet', () => {
  let herald: RunningHerald;

  beforeAll(async () => {
    execFileSync(process.execPath, ['scripts/build-client.mjs', '--bundles-only'], { cwd: ROOT, stdio: 'ignore' });
    herald = await startHerald();
  });
  afterAll(() => herald.close());

  it.each([
    ['/client/herald.js', /export\s*\{[^}]*HeraldClient/],
    ['/client/herald.mjs', /export\s*\{[^}]*HeraldClient/],
    ['/client/herald-worker.js', /onconnect/],
  ])('serves %s as JavaScript with caching and an ETag', async (path, content) => {
    const answer = await request<string>(`${herald.url}${path}`);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(answer.headers.get('cache-control')).toBe('public, max-age=300');
    expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
    expect(answer.headers.get('last-modified')).toMatch(/GMT$/);
    expect(answer.body).toMatch(content);
    const etag = answer.headers.get('etag');
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    const again = await fetch(`${herald.url}${path}`, { headers: { 'if-none-match': etag! } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    expect(again.headers.get('etag')).toBe(etag);
    const changed = await fetch(`${herald.url}${path}`, { headers: { 'if-none-match': '"something-else"' } });
    expect(changed.status).toBe(200);
  });

  it('serves the source maps the bundles point to', async () => {
    const bundle = await request<string>(`${herald.url}/client/herald.js`);
    expect(bundle.body).toMatch(/\/\/# sourceMappingURL=herald\.js\.map\s*$/);
    const map = await request<{ version: number; sources: string[] }>(`${herald.url}/client/herald.js.map`);
    expect(map.status).toBe(200);
    expect(map.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(map.body.version).toBe(3);
  });

  it('serves the fleet example as HTML that always revalidates', async () => {
    const answer = await request<string>(`${herald.url}/examples/fleet`);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(answer.headers.get('cache-control')).toBe('no-cache');
    expect(answer.headers.get('etag')).toBeTruthy();
    expect(answer.body).toContain("from '../client/herald.js'");
  });

  it('answers HEAD without a body', async () => {
    const answer = await fetch(`${herald.url}/client/herald.js`, { method: 'HEAD' });
    expect(answer.status).toBe(200);
    expect(Number(answer.headers.get('content-length'))).toBeGreaterThan(1_000);
    expect(await answer.text()).toBe('');
  });

  it.each(['/client/other.js', '/client/..%2Fpackage.json', '/client/types', '/examples/nope'])(
    'answers 404 JSON for %s',
    async (path) => {
      const answer = await request<{ statusCode: number }>(`${herald.url}${path}`);
      expect(answer.status).toBe(404);
      expect(answer.body).toMatchObject({ statusCode: 404 });
    },
  );
});
