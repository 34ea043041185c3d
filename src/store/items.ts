import { BadRequestException, ConflictException, NotFoundException } from '@nestjs/common';
import { randomUUID } from 'node:crypto';

/** The admin API's rules for lists of items with ids (alert channels, rules, occupancy webhooks). */

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The item with `id`, or a 404 naming it (`no alert rule "x"`). */
export function findItem<T extends { id: string }>(items: readonly T[], id: string, what: string): T {
  const item = items.find((candidate) => candidate.id === id);
  if (!item) throw new NotFoundException(`no ${what} ${JSON.stringify(id)}`);
  return item;
}

/** The id a create asked for (409 if taken), else a new UUID. */
export function newItemId(body: unknown, existing: readonly { id: string }[]): string {
  const wanted = isObject(body) ? body.id : undefined;
  if (typeof wanted !== 'string') return randomUUID();
  if (existing.some((item) => item.id === wanted))
    throw new ConflictException(`the id ${JSON.stringify(wanted)} is taken`);
  return wanted;
}

/** A replace may carry the id a GET returned, but not another one. */
export function checkSameId(body: unknown, id: string): void {
  if (isObject(body) && body.id !== undefined && body.id !== id) {
    throw new BadRequestException([`id must be ${JSON.stringify(id)} (the id in the path) or left out`]);
  }
}
