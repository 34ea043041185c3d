// Log-scale latency histogram (2 % wide buckets, 1 µs .. ~1 h): cheap to record
// on the client's hot path, small to ship over IPC, exact enough for p50/p99.

const STEP = Math.log(1.02);
export const BUCKETS = 1200;

/** Wall-clock microseconds, comparable across processes on one machine. */
export function nowUs() {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

export function bucketOf(micros) {
  if (micros < 1) return 0;
  const index = 1 + Math.floor(Math.log(micros) / STEP);
  return index < BUCKETS ? index : BUCKETS - 1;
}

/** Upper bound of a bucket, in milliseconds. */
function bucketUpperMs(index) {
  return index === 0 ? 0.001 : Math.exp(index * STEP) / 1000;
}

export class Histogram {
  constructor() {
    this.counts = new Float64Array(BUCKETS);
    this.total = 0;
    this.maxUs = 0;
  }

  record(micros, count = 1) {
    this.counts[bucketOf(micros)] += count;
    this.total += count;
    if (micros > this.maxUs) this.maxUs = micros;
  }

  /** Non-empty buckets as [index, count] pairs (the IPC form). */
  toPairs() {
    const pairs = [];
    for (let i = 0; i < BUCKETS; i++) if (this.counts[i] > 0) pairs.push([i, this.counts[i]]);
    return pairs;
  }

  addPairs(pairs, maxUs) {
    for (const [index, count] of pairs) {
      this.counts[index] += count;
      this.total += count;
    }
    if (maxUs > this.maxUs) this.maxUs = maxUs;
  }

  /** The q-quantile (0..1) in milliseconds; null when empty. */
  quantileMs(q) {
    if (this.total === 0) return null;
    const rank = Math.ceil(q * this.total);
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank) return Math.min(bucketUpperMs(i), this.maxUs / 1000);
    }
    return this.maxUs / 1000;
  }
}
