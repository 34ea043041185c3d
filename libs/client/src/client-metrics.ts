import type { ConnectionState, LatencySummary } from './types.js';

const LATENCY_SAMPLES = 1024;

/** States in which the client wants a stream (the "total" of connected vs total). */
const WANTS_STREAM: ReadonlySet<ConnectionState> = new Set(['connecting', 'open', 'reconnecting', 'failed']);

/** Messages, latency and connected time of one client, recorded as they happen. */
export class ClientMetricsRecorder {
  messagesReceived = 0;
  private readonly latencies: number[] = [];
  private nextSample = 0;
  private latencyCount = 0;
  private latencySum = 0;
  private latencyMax = 0;
  private lastLatency = 0;
  private state: ConnectionState = 'idle';
  private since: number;
  private connectedMs = 0;
  private totalMs = 0;

  constructor(private readonly now: () => number) {
    this.since = now();
  }

  /** An event reached this client at local time `receivedAt`. */
  received(ts: number, receivedAt: number): void {
    this.messagesReceived++;
    const latency = Math.max(0, receivedAt - ts);
    if (this.latencies.length < LATENCY_SAMPLES) this.latencies.push(latency);
    else this.latencies[this.nextSample] = latency;
    this.nextSample = (this.nextSample + 1) % LATENCY_SAMPLES;
    this.latencyCount++;
    this.latencySum += latency;
    this.latencyMax = Math.max(this.latencyMax, latency);
    this.lastLatency = latency;
  }

  stateChanged(state: ConnectionState): void {
    if (state === this.state) return;
    this.accumulate();
    this.state = state;
  }

  connectedTime(): { connectedMs: number; totalMs: number } {
    this.accumulate();
    return { connectedMs: this.connectedMs, totalMs: this.totalMs };
  }

  /** Over the last 1,024 samples for the percentiles; count, mean and max over all. */
  latency(): LatencySummary | null {
    if (this.latencyCount === 0) return null;
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
    return {
      count: this.latencyCount,
      last: this.lastLatency,
      mean: this.latencySum / this.latencyCount,
      p50: at(0.5),
      p99: at(0.99),
      max: this.latencyMax,
    };
  }

  private accumulate(): void {
    const now = this.now();
    const elapsed = now - this.since;
    this.since = now;
    if (WANTS_STREAM.has(this.state)) this.totalMs += elapsed;
    if (this.state === 'open') this.connectedMs += elapsed;
  }
}
