import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { EVENT_BROKER, type EventBroker } from '../broker/event-broker.js';
import type { HeraldEvent } from '../broker/herald-event.js';
import { HERALD_CONFIG, type HeraldConfig } from '../config/herald-config.js';
import { RetryLaterException } from '../http/retry-later.exception.js';
import type { PollResult } from './dto/poll-result.dto.js';
import { getSubscribeContext, type SubscribeParams } from './subscribe-request.js';

/** Most events one poll answers with; the cursor lets the client fetch the rest at once. */
const MAX_EVENTS_PER_POLL = 1_000;

/**
 * Long-poll: answer as soon as an event after the cursor exists on the topics,
 * or with an empty list at the timeout. Like a stream, it listens to the live
 * feed before reading history, so an event published meanwhile is never missed.
 */
@Injectable()
export class PollWaiter {
  /** Waiting polls, each answered at once (with what it has) when the drain starts. */
  private readonly waiting = new Set<() => void>();
  private draining = false;
  /** Polls in progress, per client IP and in total: they hold a socket each, like a stream. */
  private readonly perIp = new Map<string, number>();
  private total = 0;

  constructor(
    @Inject(EVENT_BROKER) private readonly broker: EventBroker,
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
  ) {}

  /** Shutdown: every waiting poll answers now, and new ones do not wait. */
  drain(): void {
    this.draining = true;
    for (const answerNow of [...this.waiting]) answerNow();
  }

  /**
   * Reserves a poll slot (MAX_POLLS, MAX_POLLS_PER_IP) or refuses with 503/429 + Retry-After;
   * the returned function gives it back, once.
   */
  private take(ip: string): () => void {
    const retryAfter = this.config.retryAfterSeconds;
    if (this.total >= this.config.maxPolls) {
      throw new RetryLaterException(
        HttpStatus.SERVICE_UNAVAILABLE,
        'too many long-polls waiting; retry later',
        retryAfter,
      );
    }
    if ((this.perIp.get(ip) ?? 0) >= this.config.maxPollsPerIp) {
      throw new RetryLaterException(
        HttpStatus.TOO_MANY_REQUESTS,
        'too many long-polls from this IP address',
        retryAfter,
      );
    }
    this.total++;
    this.perIp.set(ip, (this.perIp.get(ip) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const left = (this.perIp.get(ip) ?? 1) - 1;
      if (left > 0) this.perIp.set(ip, left);
      else this.perIp.delete(ip);
    };
  }

  wait(params: SubscribeParams, req: IncomingMessage): Promise<PollResult> {
    const release = this.take(getSubscribeContext(req).ip);
    const topics = new Set(params.topics);
    const early: HeraldEvent[] = [];
    let deliver: ((events: HeraldEvent[]) => void) | undefined;
    const stopLive = this.broker.onLive((events) => {
      const wanted = events.filter((event) => topics.has(event.topic));
      if (wanted.length === 0) return;
      if (deliver) deliver(wanted);
      else early.push(...wanted);
    });
    return new Promise<PollResult>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let done = false;
      let expire: (() => void) | undefined;
      /** Stops waiting, once; false when it already had. */
      const stop = (): boolean => {
        if (done) return false;
        done = true;
        stopLive();
        release();
        clearTimeout(timer);
        if (expire) this.waiting.delete(expire);
        return true;
      };
      const finish = (response: PollResult): void => {
        if (!stop()) return;
        req.socket.removeListener('close', abandon);
        resolve(response);
      };
      const abandon = (): void => {
        stop();
      };
      req.socket.once('close', abandon);
      // The client may have left while the guards ran; then "close" has fired already.
      if (req.socket.destroyed) abandon();
      const failed = (error: unknown): void => {
        abandon();
        reject(error);
      };
      const read =
        params.latest && params.cursor === null
          ? this.broker.latest(params.topics)
          : this.broker.replay(params.topics, params.cursor);
      read.then((result) => {
        if (done) return;
        if (result.reset) {
          if (!params.latest) {
            finish({ events: [], lastEventId: result.head, reset: true });
            return;
          }
          // since=latest: the reset answer carries each topic's newest event; its last id is the next cursor.
          this.broker.latest(params.topics).then(
            (latest) =>
              finish({
                events: latest.events.map((event) => event.toJSON()),
                lastEventId: latest.events.at(-1)?.id ?? latest.head,
                reset: true,
              }),
            failed,
          );
          return;
        }
        const afterSeq = params.cursor === null ? result.headSeq : params.cursor.seq;
        const cursorId = params.cursor === null ? result.head : (params.lastEventId as string);
        const respond = (events: HeraldEvent[]): boolean => {
          const fresh = events.slice(0, MAX_EVENTS_PER_POLL);
          if (fresh.length === 0) return false;
          finish({
            events: fresh.map((event) => event.toJSON()),
            lastEventId: fresh[fresh.length - 1].id,
            reset: false,
          });
          return true;
        };
        const answer = (events: HeraldEvent[]): boolean => respond(events.filter((event) => event.seq > afterSeq));
        // A cursor's replay, or since=latest's newest events (at or below the head, read with it).
        const replayed = params.cursor === null && !params.latest ? [] : result.events;
        const lastReplayed = replayed.length > 0 ? Math.max(afterSeq, replayed[replayed.length - 1].seq) : afterSeq;
        if (respond([...replayed, ...early.filter((event) => event.seq > lastReplayed)])) return;
        // Events published in the same turn arrive together; answer with all of them.
        let batch: HeraldEvent[] = [];
        deliver = (events) => {
          if (batch.length === 0) setImmediate(() => answer(batch));
          batch = batch.concat(events);
        };
        expire = () => finish({ events: [], lastEventId: cursorId, reset: false });
        if (this.draining) {
          expire();
          return;
        }
        this.waiting.add(expire);
        timer = setTimeout(expire, params.timeoutSeconds * 1000);
      }, failed);
    });
  }
}
