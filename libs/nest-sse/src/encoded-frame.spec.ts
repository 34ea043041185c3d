import { describe, expect, it } from '@jest/globals';
import { EncodedFrame, toFrame } from './encoded-frame.js';

describe('EncodedFrame', () => {
  it('holds the frame and the same bytes as one HTTP/1.1 chunk, in one allocation', () => {
    const frame = EncodedFrame.of({ id: '7', event: 'pos', data: 'a\nb' });
    expect(frame.bytes.toString()).toBe('id: 7\nevent: pos\ndata: a\ndata: b\n\n');
    expect(frame.chunk.toString()).toBe(`${frame.size.toString(16)}\r\n${frame.bytes.toString()}\r\n`);
    expect(frame.bytes.buffer).toBe(frame.chunk.buffer);
  });

  it('counts UTF-8 bytes, not characters, in the chunk length', () => {
    const frame = new EncodedFrame('data: 🚚 ü\n\n');
    expect(frame.size).toBe(Buffer.byteLength('data: 🚚 ü\n\n'));
    expect(frame.chunk.subarray(0, frame.chunk.indexOf('\r\n')).toString()).toBe(frame.size.toString(16));
  });

  it('encodes a Nest MessageEvent (objects as JSON, no field smuggled) and passes a pre-encoded frame through', () => {
    expect(toFrame({ data: { x: 1 }, type: 'tick', id: '1', retry: 500 }).bytes.toString()).toBe(
      'id: 1\nevent: tick\nretry: 500\ndata: {"x":1}\n\n',
    );
    expect(toFrame({ data: 'x', type: 'a\nevent: evil' }).bytes.toString()).toBe('event: aevent: evil\ndata: x\n\n');
    const shared = new EncodedFrame('data: once\n\n');
    expect(toFrame(shared)).toBe(shared);
  });
});
