import { describe, expect, it } from '@jest/globals';
import { isValidEventType, isValidTopic, topicAllowed, topicMatches } from './validation.js';

describe('isValidTopic', () => {
  it.each(['a', 'trucks/42', 'org:acme/fleet.v2~x@y', 'A-Z_0-9', 'x'.repeat(256)])('accepts %j', (topic) => {
    expect(isValidTopic(topic)).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['too long', 'x'.repeat(257)],
    ['space', 'a b'],
    ['CRLF', 'a\r\nb'],
    ['LF', 'a\n'],
    ['NUL', 'a\0'],
    ['unicode', 'camión'],
    ['percent', 'a%2F'],
    ['query chars', 'a?b=c'],
    ['hash', 'a#b'],
    ['comma', 'a,b'],
    ['star', 'a/*'],
  ])('rejects %s', (_name, topic) => {
    expect(isValidTopic(topic)).toBe(false);
  });

  it.each([[undefined], [null], [1], [['a']]])('rejects non-strings %j', (value) => {
    expect(isValidTopic(value)).toBe(false);
  });
});

describe('isValidEventType', () => {
  it.each(['message', 'pos.update', 'a:b-c_d', 'x'.repeat(64)])('accepts %j', (type) => {
    expect(isValidEventType(type)).toBe(true);
  });
  it.each(['', 'x'.repeat(65), 'a\nb', 'a\rb', 'a b', 'a/b', 'évent', 'a\0'])('rejects %j', (type) => {
    expect(isValidEventType(type)).toBe(false);
  });
});

describe('topicMatches', () => {
  it.each([
    ['trucks/42', 'trucks/42', true],
    ['trucks/*', 'trucks/42', true],
    ['trucks/*', 'trucks/', false],
    ['trucks/*', 'trucks/42/pos', false],
    ['trucks/*', 'trucks', false],
    ['*/pos', 'trucks/pos', true],
    ['*', 'anything', true],
    ['*', 'a/b', false],
    ['*', '', false],
    ['trucks/*/pos', 'trucks/7/pos', true],
    ['trucks/*/pos', 'trucks/7/speed', false],
    ['trucks/4*', 'trucks/42', false],
    ['a', 'b', false],
  ])('%j ~ %j is %j', (pattern, topic, expected) => {
    expect(topicMatches(pattern, topic)).toBe(expected);
  });

  it('topicAllowed needs one matching pattern; an empty list allows nothing', () => {
    expect(topicAllowed(['x', 'trucks/*'], 'trucks/1')).toBe(true);
    expect(topicAllowed([], 'trucks/1')).toBe(false);
  });
});
