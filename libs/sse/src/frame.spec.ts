import { describe, expect, it } from '@jest/globals';
import { encodeComment, encodeData, encodeFrame, encodeRetry, payloadText } from './frame.js';
import { SseParser } from './parser.js';

/** Whatever the payload, the frame parses back to exactly one event with that payload (line breaks normalised to LF). */
function roundTrip(data: string, event?: string, id?: string) {
  const parsed = new SseParser().feed(encodeFrame({ id, event, data }));
  return parsed.events;
}

describe('encodeData', () => {
  it.each([
    ['plain', 'hello', 'data: hello\n'],
    ['empty', '', 'data: \n'],
    ['LF', 'a\nb', 'data: a\ndata: b\n'],
    ['CR', 'a\rb', 'data: a\ndata: b\n'],
    ['CRLF', 'a\r\nb', 'data: a\ndata: b\n'],
    ['trailing LF', 'a\n', 'data: a\ndata: \n'],
    ['blank lines', '\n\n', 'data: \ndata: \ndata: \n'],
    ['mixed', 'a\r\n\rb\nc', 'data: a\ndata: \ndata: b\ndata: c\n'],
    ['leading space kept', ' x', 'data:  x\n'],
    ['colon', 'id: 5', 'data: id: 5\n'],
    ['unicode', 'héllo 🚚 \u2028', 'data: héllo 🚚 \u2028\n'],
  ])('%s', (_name, input, expected) => {
    expect(encodeData(input)).toBe(expected);
  });
});

describe('encodeFrame', () => {
  it('writes id, event, data and the blank line in that order', () => {
    expect(encodeFrame({ id: 'e-1', event: 'pos', data: '{"x":1}' })).toBe('id: e-1\nevent: pos\ndata: {"x":1}\n\n');
  });

  it('omits the event line for the default type', () => {
    expect(encodeFrame({ id: 'e-1', event: 'message', data: 'x' })).toBe('id: e-1\ndata: x\n\n');
  });

  it('puts retry in the frame when asked', () => {
    expect(encodeFrame({ event: 'close', retry: 1500, data: '{}' })).toBe('event: close\nretry: 1500\ndata: {}\n\n');
  });

  it.each([
    ['LF in event', 'a\nevent: evil', 'aevent: evil'],
    ['CRLF in event', 'a\r\ndata: injected', 'adata: injected'],
    ['lone CR', 'a\rb', 'ab'],
    ['NUL', 'a\0b', 'ab'],
  ])('strips line breaks and NUL from fields: %s', (_name, event, expected) => {
    const frame = encodeFrame({ id: 'x\n1\0', event, data: 'd' });
    expect(frame.indexOf('\n\n')).toBe(frame.length - 2);
    expect(frame).not.toMatch(/[\r\0]/);
    const [parsed] = roundTrip('d', event, 'x\n1\0');
    expect(parsed.event).toBe(expected);
    expect(parsed.id).toBe('x1');
  });

  it.each([
    ['newline smuggling a field', 'x\n\nid: 999\nevent: close\ndata: hijack'],
    ['CR-only smuggling', 'x\r\rid: 999'],
    ['NUL', 'a\0b'],
    ['only breaks', '\r\n\r\n'],
    ['unicode and emoji', 'ünïcødé 🚚\n第二行'],
  ])('a hostile payload stays one event with its own data: %s', (_name, data) => {
    const events = roundTrip(data, 'message', 'e-7');
    expect(events).toHaveLength(1);
    expect(events[0].id).toBe('e-7');
    expect(events[0].event).toBe('message');
    expect(events[0].data).toBe(data.replace(/\r\n|\r/g, '\n'));
  });

  it('encodes a 10 MB payload with many lines intact', () => {
    const line = 'x'.repeat(1023);
    const data = Array.from({ length: 10 * 1024 }, () => line).join('\n');
    const frame = encodeFrame({ id: 'e-1', data });
    expect(frame.length).toBeGreaterThan(10 * 1024 * 1024);
    const events = new SseParser().feed(frame).events;
    expect(events).toHaveLength(1);
    expect(events[0].data).toBe(data);
  });

  it('encodes a 10 MB single-line payload', () => {
    const data = 'y'.repeat(10 * 1024 * 1024);
    expect(encodeFrame({ data })).toBe(`data: ${data}\n\n`);
  });

  it('rejects a negative or fractional retry', () => {
    expect(() => encodeRetry(-1)).toThrow(RangeError);
    expect(() => encodeRetry(1.5)).toThrow(RangeError);
    expect(encodeRetry(3000)).toBe('retry: 3000\n\n');
  });
});

describe('encodeComment', () => {
  it.each([
    ['hb', ': hb\n\n'],
    ['', ':\n\n'],
    ['a\nb', ': a\n: b\n\n'],
    ['a\r\ndata: x', ': a\n: data: x\n\n'],
    ['a\0b', ': ab\n\n'],
  ])('%j', (text, expected) => {
    expect(encodeComment(text)).toBe(expected);
    expect(new SseParser().feed(expected).events).toHaveLength(0);
  });
});

describe('payloadText', () => {
  it.each([
    ['a string as it is', 'hi', 'hi'],
    ['a JSON string stays unquoted', '"q"', '"q"'],
    ['an object as JSON', { a: [1, null] }, '{"a":[1,null]}'],
    ['a number', 42, '42'],
    ['null', null, 'null'],
    ['a boolean', false, 'false'],
  ])('%s', (_name, input, expected) => {
    expect(payloadText(input)).toBe(expected);
  });
});
