import type { ApiPropertyOptions } from '@nestjs/swagger';

/** Property shapes shared by the `/status` and dashboard classes. */

export const COUNT = { type: 'integer', minimum: 0 } as const;
export const NUMBER = { type: 'number', minimum: 0 } as const;

/** An object with exactly these keys, each a count. */
export function countsBy(
  keys: readonly string[],
  description: string,
  example: Record<string, number> = {},
): ApiPropertyOptions {
  return {
    type: 'object',
    description,
    properties: Object.fromEntries(keys.map((key) => [key, COUNT])),
    required: [...keys],
    additionalProperties: false,
    example: Object.fromEntries(keys.map((key) => [key, example[key] ?? 0])),
  } as ApiPropertyOptions;
}
