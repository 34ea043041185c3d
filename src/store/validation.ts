import { BadRequestException, ValidationPipe, type Type } from '@nestjs/common';
import { isObject } from './items.js';

const pipe = new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true });

/** Validates `value` against a DTO as the global pipe does; throws a 400 listing every problem by field. */
export async function validateBody(dto: Type<object>, value: unknown): Promise<Record<string, unknown>> {
  await pipe.transform(value, { type: 'body', metatype: dto });
  return value as Record<string, unknown>;
}

/** The messages of a 400 from `validateBody`. */
export function messagesOf(error: BadRequestException): string[] {
  const body = error.getResponse() as { message?: unknown };
  return Array.isArray(body.message) ? body.message.map(String) : [String(body.message ?? error.message)];
}

/** Thrown for a stored document that does not hold a valid configuration. */
export class InvalidDocumentError extends Error {}

/** What every stored configuration has: a JSON object, `version` 1, a whole `revision`, and the named lists. */
export function documentLists<K extends string>(raw: unknown, lists: readonly K[]): Record<K, unknown[]> {
  if (!isObject(raw)) throw new InvalidDocumentError('it is not a JSON object');
  if (raw.version !== 1) throw new InvalidDocumentError(`version must be 1, not ${JSON.stringify(raw.version)}`);
  if (!Number.isSafeInteger(raw.revision) || (raw.revision as number) < 0) {
    throw new InvalidDocumentError('revision must be a whole number');
  }
  for (const list of lists) if (!Array.isArray(raw[list])) throw new InvalidDocumentError(`${list} must be a list`);
  return raw as Record<K, unknown[]>;
}

/** The id of the stored item at `where` (`channels[2]`): well-formed and not one of the items before it. */
export function storedId(stored: unknown, where: string, before: readonly { id: string }[], pattern: RegExp): string {
  const id = (stored as { id?: unknown } | null)?.id;
  if (typeof id !== 'string' || !pattern.test(id))
    throw new InvalidDocumentError(`${where}.id is missing or malformed`);
  if (before.some((item) => item.id === id)) throw new InvalidDocumentError(`${where}.id "${id}" is used twice`);
  return id;
}

/** Runs a request check on a part of a stored document; its 400 becomes an `InvalidDocumentError` naming `where`. */
export async function checkedAt<T>(where: string, check: () => Promise<T>): Promise<T> {
  try {
    return await check();
  } catch (error) {
    if (error instanceof BadRequestException)
      throw new InvalidDocumentError(`${where}: ${messagesOf(error).join('; ')}`);
    throw error;
  }
}
