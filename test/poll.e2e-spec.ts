import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { publishOk, request, sleep, startHerald, type RunningHerald } from './support/herald.js';

interface PollBody {
  events: { id: string; topic: string; type: string; data: unknown; ts: number }[];
  lastEventId: string;
  reset: boolean;
}

describe('Long-poll GET /v1/poll', () => {
  let herald: RunningHerald;
  beforeAll(async () => {
    herald = await startHerald();
  });
  afterAll(() => herald.close());

  const poll = (query: string) => request<PollBody>(`${herald.url}/v1/poll?${query}`);

  it('answers at once with the events after lastEventId, and the cursor for the next call', async () => {
    const first = await publishOk(herald, 'p/a', 1);
    const second = await publishOk(herald, 'p/b', { two: 2 }, 'kind');
    await publishOk(herald, 'p/other', 'no');
    const started = Date.now();
    const answer = await poll(`topic=p/a&topic=p/b&lastEventId=${first}`);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(answer.status).toBe(200);
    expect(answer.body.reset).toBe(false);
    expect(answer.body.events).toEqual([
      { id: second, topic: 'p/b', type: 'kind', data: { two: 2 }, ts: expect.any(Number) },
    ]);
    expect(answer.body.lastEventId).toBe(second);
  });

  it('without lastEventId waits for an event published after the request', async () => {
    await publishOk(herald, 'p/wait', 'old');
    const pending = poll('topic=p/wait&timeout=5');
    await sleep(200);
    const id = await publishOk(herald, 'p/wait', 'new');
    const answer = await pending;
    expect(answer.body.events.map((e) => e.data)).toEqual(['new']);
    expect(answer.body.lastEventId).toBe(id);
  });

  it('answers an empty list at the timeout, with a cursor that loses nothing', async () => {
    const started = Date.now();
    const empty = await poll('topic=p/idle&timeout=1');
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(950);
    expect(waited).toBeLessThan(3_000);
    expect(empty.body).toMatchObject({ events: [], reset: false });
    const id = await publishOk(herald, 'p/idle', 'later');
    const next = await poll(`topic=p/idle&lastEventId=${empty.body.lastEventId}&timeout=1`);
    expect(next.body.events.map((e) => e.id)).toEqual([id]);
  });

  it('an unknown id is reset: true, no events, and the head as cursor', async () => {
    const head = await publishOk(herald, 'p/x', 'x');
    const answer = await poll('topic=p/x&lastEventId=nope-1');
    expect(answer.body).toEqual({ events: [], lastEventId: head, reset: true });
  });

  it.each([
    ['timeout=0', /invalid timeout/],
    ['timeout=61', /invalid timeout/],
    ['timeout=1.5', /invalid timeout/],
    ['timeout=abc', /invalid timeout/],
  ])('400 for topic=a&%s', async (query, message) => {
    const answer = await request<{ message: string }>(`${herald.url}/v1/poll?topic=a&${query}`);
    expect(answer.status).toBe(400);
    expect(answer.body.message).toMatch(message);
  });

  it('400 without a topic, never a 500', async () => {
    expect((await poll('timeout=1')).status).toBe(400);
  });
});
