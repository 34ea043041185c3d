import { EncodedFrame } from '@herald/nest-sse';
import { formatEventId } from '@herald/sse';
import type { LiveLoss } from '../broker/event-broker.js';

/**
 * The `reset` frames a subscription writes when history is gone: at the
 * start (the client's Last-Event-ID is older than what is kept) and mid-stream
 * (the live feed lost events, `LiveLoss`). Both say `history-lost` and echo the
 * id the client had; the frame's own id is where a reconnect resumes. Off the
 * hot path: a reset is rare and encoded per stream.
 */

/** A `reset` with the resume id (none: a reconnect resets again) and the id the client last had. */
export function historyLostFrame(id: string | undefined, lastEventId: string | undefined): EncodedFrame {
  return EncodedFrame.of({
    id,
    event: 'reset',
    data: JSON.stringify({ reason: 'history-lost', lastEventId: lastEventId ?? null }),
  });
}

/** After a live loss a stream resumes where the feed goes on, but never back past what it was sent. */
export function lossResumeId(loss: LiveLoss, lastSeq: number, lastId: string | undefined): string {
  return lastSeq > loss.seq && lastId !== undefined ? lastId : formatEventId(loss.epoch, loss.seq);
}
