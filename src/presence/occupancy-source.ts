/**
 * The seam between presence (who is subscribed, counted cluster-wide) and the
 * occupancy webhooks that report it. Presence decides *when* a topic became
 * occupied or vacated; the webhooks decide *how* that is delivered.
 */

/** Injection token of the `OccupancySource` (provided and exported by the presence module). */
export const OCCUPANCY_SOURCE = Symbol('OCCUPANCY_SOURCE');

export interface OccupancyTransition {
  /** `occupied`: 0 → ≥ 1 streams cluster-wide; `vacated`: at 0 for `VACATED_GRACE_MS`. */
  event: 'occupied' | 'vacated';
  topic: string;
  /** ms since the epoch: when the count left 0 (`occupied`) or reached 0 for good (`vacated`). */
  at: number;
}

export type OccupancyListener = (transition: OccupancyTransition) => void;

export interface OccupancySource {
  /**
   * Hears each transition this instance is responsible for reporting. Across a
   * cluster every transition reaches the listeners of exactly one instance, and
   * per topic `occupied` and `vacated` alternate, starting with `occupied`.
   */
  onTransition(listener: OccupancyListener): () => void;
}
