import { describe, expect, it } from '@jest/globals';
import { loadConfig } from '../config/herald-config.js';
import { MemoryBroker } from '../broker/memory.broker.js';
import { PresenceOff } from '../presence/presence-tracker.js';
import { ConnectionRegistry } from './connection-registry.js';

function registry(env: Record<string, string> = {}): ConnectionRegistry {
  const config = loadConfig({ ADMIN_TOKEN: 'x'.repeat(16), MAX_CONNECTIONS_PER_IP: '1000', ...env });
  return new ConnectionRegistry(config, new MemoryBroker(config), new PresenceOff());
}

describe('ConnectionRegistry admission ledger', () => {
  it('topIps returns the busiest addresses, largest first, bounded by the limit', () => {
    const subject = registry({ MAX_CONNECTIONS: '100000' });
    const counts: Record<string, number> = {};
    for (let i = 0; i < 500; i++) counts[`10.0.${i >> 8}.${i & 255}`] = (i * 7919) % 97;
    for (const [ip, n] of Object.entries(counts)) for (let k = 0; k < n; k++) subject.admit(ip, undefined);
    const expected = Object.entries(counts)
      .filter(([, n]) => n > 0)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 20)
      .map(([, n]) => n);
    const top = subject.topIps(20);
    expect(Object.values(top)).toEqual(expected);
    for (const [ip, n] of Object.entries(top)) expect(counts[ip]).toBe(n);
    expect(subject.topIps(0)).toEqual({});
  });

  it('admit and release balance per IP and tenant; release is idempotent', () => {
    const subject = registry({ MAX_CONNECTIONS_PER_IP: '2', MAX_CONNECTIONS_PER_TENANT: '1' });
    const a = subject.admit('1.1.1.1', 't');
    const b = subject.admit('1.1.1.1', undefined);
    expect('admitted' in a && 'admitted' in b).toBe(true);
    expect(subject.admit('1.1.1.1', undefined)).toEqual({ refused: 'per-ip' });
    expect(subject.admit('2.2.2.2', 't')).toEqual({ refused: 'per-tenant' });
    if ('admitted' in a) {
      subject.release(a.admitted);
      subject.release(a.admitted);
    }
    expect(subject.active).toBe(1);
    expect(subject.topIps(5)).toEqual({ '1.1.1.1': 1 });
    expect('admitted' in subject.admit('2.2.2.2', 't')).toBe(true);
  });
});
