/**
 * Event ids are `<epoch>-<seq>`: `epoch` names one history (it changes when
 * history is lost), `seq` increases across all topics of that history, so ids
 * of one epoch are totally ordered.
 */
export interface EventCursor {
  readonly epoch: string;
  readonly seq: number;
}

const EPOCH_PATTERN = /^[a-z0-9]{1,32}$/;
const ID_PATTERN = /^([a-z0-9]{1,32})-(0|[1-9][0-9]{0,15})$/;

export function isValidEpoch(epoch: string): boolean {
  return EPOCH_PATTERN.test(epoch);
}

export function formatEventId(epoch: string, seq: number): string {
  return `${epoch}-${seq}`;
}

/** Parses an id; anything that is not one of ours (garbage, overflow) is `null`. */
export function parseEventId(value: unknown): EventCursor | null {
  if (typeof value !== 'string' || value.length > 50) return null;
  const match = ID_PATTERN.exec(value);
  if (!match) return null;
  const seq = Number(match[2]);
  if (!Number.isSafeInteger(seq)) return null;
  return { epoch: match[1], seq };
}

/** A fresh epoch: time-ordered base36 plus randomness, never containing `-`. */
export function newEpoch(now = Date.now(), random: () => number = Math.random): string {
  const noise = Math.floor(random() * 36 ** 4)
    .toString(36)
    .padStart(4, '0');
  return `${now.toString(36)}${noise}`;
}
