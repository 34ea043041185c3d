#!/usr/bin/env node
// Prints an HS256 JWT for Herald, signed with $JWT_SECRET:
//   npm run token -- --topics 'trucks/*' --tenant acme --ttl 1h [--publish 'trucks/*'] [--sub user-1]
import { createHmac } from 'node:crypto';
import { parseArgs } from 'node:util';

const USAGE =
  "usage: JWT_SECRET=... npm run token -- --topics 'a,b/*' [--publish 'a'] [--tenant t] [--sub s] [--ttl 1h]";

function fail(message) {
  process.stderr.write(`token: ${message}\n${USAGE}\n`);
  process.exit(1);
}

function seconds(ttl) {
  const match = /^([0-9]+)([smhd]?)$/.exec(ttl);
  if (!match) fail(`--ttl ${JSON.stringify(ttl)}: a whole number with an optional unit s, m, h or d (e.g. 1h)`);
  return Number(match[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[match[2]];
}

const list = (values) => (values ?? []).flatMap((value) => value.split(',')).filter(Boolean);

let values;
try {
  ({ values } = parseArgs({
    options: {
      topics: { type: 'string', multiple: true },
      publish: { type: 'string', multiple: true },
      tenant: { type: 'string' },
      sub: { type: 'string' },
      ttl: { type: 'string', default: '1h' },
    },
  }));
} catch (error) {
  fail(error.message);
}
const secret = process.env.JWT_SECRET;
if (!secret || secret.length < 32) fail('set JWT_SECRET (at least 32 characters, the same as the server)');
if (!values.topics && !values.publish) fail('give --topics (to subscribe) and/or --publish');

const claims = { exp: Math.floor(Date.now() / 1000) + seconds(values.ttl) };
if (values.topics) claims.topics = list(values.topics);
if (values.publish) claims.publish = list(values.publish);
if (values.tenant) claims.tenant = values.tenant;
if (values.sub) claims.sub = values.sub;

const part = (object) => Buffer.from(JSON.stringify(object)).toString('base64url');
const unsigned = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}`;
const signature = createHmac('sha256', secret).update(unsigned).digest('base64url');
process.stdout.write(`${unsigned}.${signature}\n`);
