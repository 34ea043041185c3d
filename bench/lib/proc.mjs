// Process and machine figures from /proc (Linux): what the server costs, and
// how busy the machine was with other work while it was measured.
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** Resident set size of a process, bytes (VmRSS). */
export function rssBytes(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'latin1');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) * 1024 : 0;
}

/** CPU time (user + system) a process has used, ms. */
export function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  // The command name may contain spaces: fields are counted after its closing ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

/**
 * Busy and total time of one core, ms (from /proc/stat). Softirq time is kept
 * apart: on loopback most of it is the kernel delivering the server's own writes.
 */
export function coreTimes(core) {
  const line = readFileSync('/proc/stat', 'latin1')
    .split('\n')
    .find((l) => l.startsWith(`cpu${core} `));
  if (!line) return { busy: 0, total: 0, softirq: 0 };
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const total = values.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = values[3] + values[4];
  return { busy: (total - idle) * TICK_MS, total: total * TICK_MS, softirq: values[6] * TICK_MS };
}

/**
 * Samples a server's CPU and its core's load between `start()` and `stop()`:
 * `otherPercent` is the share of that core used by other processes (and VM
 * steal), `softirqPercent` the kernel's packet work on it.
 */
export class CpuWindow {
  constructor(pid, core) {
    this.pid = pid;
    this.core = core;
  }

  start() {
    this.cpu0 = cpuMs(this.pid);
    this.core0 = coreTimes(this.core);
    this.t0 = performance.now();
    return this;
  }

  stop() {
    const cpu = cpuMs(this.pid) - this.cpu0;
    const core = coreTimes(this.core);
    const wallMs = performance.now() - this.t0;
    const coreTotal = core.total - this.core0.total;
    const coreBusy = core.busy - this.core0.busy;
    const softirq = core.softirq - this.core0.softirq;
    return {
      wallMs,
      serverCpuMs: cpu,
      serverCpuPercent: (100 * cpu) / wallMs,
      otherPercent: coreTotal > 0 ? Math.max(0, (100 * (coreBusy - softirq - cpu)) / coreTotal) : 0,
      softirqPercent: coreTotal > 0 ? (100 * softirq) / coreTotal : 0,
    };
  }
}

export function machine() {
  const list = cpus();
  return {
    cpu: list[0]?.model ?? 'unknown',
    cores: list.length,
    node: process.version,
    kernel: readFileSync('/proc/sys/kernel/osrelease', 'latin1').trim(),
    memoryGb: Math.round(Number(/MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'latin1'))[1]) / 1048576),
  };
}

export function loadAverage() {
  return loadavg().map((value) => Math.round(value * 100) / 100);
}
