import { describe, expect, it } from '@jest/globals';
import { ClientMetricsRecorder } from './client-metrics.js';

describe('ClientMetricsRecorder', () => {
  it('counts connected time against the time a stream was wanted', () => {
    let now = 0;
    const recorder = new ClientMetricsRecorder(() => now);
    now = 1_000; // idle: not counted
    recorder.stateChanged('connecting');
    now = 1_200;
    recorder.stateChanged('open');
    now = 5_200;
    recorder.stateChanged('reconnecting');
    now = 6_200;
    recorder.stateChanged('open');
    now = 7_200;
    expect(recorder.connectedTime()).toEqual({ connectedMs: 5_000, totalMs: 6_200 });
  });

  it('summarizes publish→receive latency', () => {
    const recorder = new ClientMetricsRecorder(() => 0);
    expect(recorder.latency()).toBeNull();
    for (let i = 1; i <= 100; i++) recorder.received(1_000, 1_000 + i);
    recorder.received(5_000, 4_990); // a clock slightly ahead reads as 0, not negative
    expect(recorder.messagesReceived).toBe(101);
    expect(recorder.latency()).toMatchObject({ count: 101, last: 0, max: 100, p50: 50, p99: 99 });
    expect(recorder.latency()!.mean).toBeCloseTo(5_050 / 101, 5);
  });
});
