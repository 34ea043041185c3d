/**
 * The `q` quantile of a histogram given as per-bucket counts (`counts[i]`
 * observations in (bounds[i-1], bounds[i]], the last slot +Inf), interpolated
 * linearly inside the bucket like Prometheus' `histogram_quantile`. An answer
 * in the +Inf bucket is the highest finite bound; 0 without observations.
 */
export function bucketQuantile(q: number, bounds: readonly number[], counts: readonly number[]): number {
  let total = 0;
  for (const count of counts) total += count;
  if (total === 0) return 0;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    if (counts[i] === 0 || seen + counts[i] < rank) {
      seen += counts[i];
      continue;
    }
    if (i >= bounds.length) return bounds[bounds.length - 1];
    const lower = i === 0 ? 0 : bounds[i - 1];
    return lower + ((bounds[i] - lower) * (rank - seen)) / counts[i];
  }
  return bounds[bounds.length - 1];
}

/** Per-bucket counts of `now` minus those of `before` (both cumulative over time). */
export function bucketDelta(now: readonly number[], before: readonly number[] | undefined): number[] {
  return now.map((count, i) => count - (before?.[i] ?? 0));
}

/** Prometheus `le` buckets are cumulative: running sums of the per-bucket counts. */
export function cumulative(counts: readonly number[]): number[] {
  let sum = 0;
  return counts.map((count) => (sum += count));
}
