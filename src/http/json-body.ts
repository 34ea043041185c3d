import type { IncomingMessage } from 'node:http';

/**
 * How deeply a JSON body may nest arrays and objects, the envelope included.
 * No real event comes close; deeper values would overflow the stack of
 * JSON.stringify (at a few thousand levels) and of class-transformer.
 */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;
const CLOSE_ARRAY = 0x5d;
const CLOSE_OBJECT = 0x7d;

/** Whether the JSON text nests more than `limit` arrays/objects: one pass over the bytes, no parse. */
export function nestsDeeperThan(bytes: Uint8Array, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (byte === OPEN_ARRAY || byte === OPEN_OBJECT) {
      if (++depth > limit) return true;
    } else if (byte === CLOSE_ARRAY || byte === CLOSE_OBJECT) {
      depth--;
    }
  }
  return false;
}

/** A client error body-parser passes on with its own status (http-errors keeps `status`). */
class JsonBodyError extends Error {
  readonly expose = true;
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * body-parser's `verify` hook: runs on the raw bytes before the parse, so a
 * body too deep for the rest of Herald never reaches JSON.parse or a DTO.
 * A deep body that is also larger than one event may be is answered 413: it breaks both limits.
 */
export function checkJsonDepth(maxEventBytes: number) {
  return (_req: IncomingMessage, _res: unknown, bytes: Buffer): void => {
    if (!nestsDeeperThan(bytes, MAX_JSON_DEPTH)) return;
    const depth = `nests arrays/objects more than ${MAX_JSON_DEPTH} levels deep (at most ${MAX_JSON_DEPTH})`;
    if (bytes.length > maxEventBytes) {
      throw new JsonBodyError(
        413,
        `the body is ${bytes.length} bytes, more than MAX_EVENT_BYTES (${maxEventBytes}), and ${depth}`,
      );
    }
    throw new JsonBodyError(400, `the JSON body ${depth}`);
  };
}
