import { describe, expect, it } from '@jest/globals';
import { SseParser } from './parser.js';

describe('SseParser', () => {
  it('parses frames split at any byte', () => {
    const text = 'retry: 100\n\nid: a-1\nevent: t\ndata: x\ndata: y\n\n: hb\n\nid: a-2\r\ndata: z\r\n\r\n';
    for (let cut = 0; cut <= text.length; cut++) {
      const parser = new SseParser();
      const first = parser.feed(text.slice(0, cut));
      const second = parser.feed(text.slice(cut));
      const events = [...first.events, ...second.events];
      expect(events).toEqual([
        { id: 'a-1', event: 't', data: 'x\ny' },
        { id: 'a-2', event: 'message', data: 'z' },
      ]);
      expect([...first.retries, ...second.retries]).toEqual([100]);
      expect([...first.comments, ...second.comments]).toEqual(['hb']);
    }
  });

  it('ignores an id containing NUL, as browsers do', () => {
    const events = new SseParser().feed('id: a\0b\ndata: x\n\n').events;
    expect(events[0].id).toBeUndefined();
  });

  it('does not dispatch a frame with no data', () => {
    expect(new SseParser().feed('event: x\n\n').events).toEqual([]);
  });
});
