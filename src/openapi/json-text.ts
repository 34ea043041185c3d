import type { Type } from '@nestjs/common';
import { getSchemaPath, type ApiPropertyOptions } from '@nestjs/swagger';

/** A string property holding JSON text of `model` (JSON Schema's contentMediaType/contentSchema), e.g. an SSE `data:`. */
export function jsonText(model: Type<unknown> | string, example?: unknown): ApiPropertyOptions {
  const name = typeof model === 'string' ? model : model.name;
  return {
    type: 'string',
    description: `JSON text of a ${name}.`,
    contentMediaType: 'application/json',
    contentSchema: { $ref: getSchemaPath(model) },
    ...(example === undefined ? {} : { example: JSON.stringify(example) }),
  } as ApiPropertyOptions;
}
