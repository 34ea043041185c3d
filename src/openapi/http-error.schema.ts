import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiProperty, ApiResponse, getSchemaPath, type HeaderObject } from '@nestjs/swagger';
import { STATUS_CODES } from 'node:http';
import { invalidTopicMessage } from '@herald/sse';

/** The one error body of every refusal (src/http/http-error.filter.ts). */
export class HttpErrorBody {
  @ApiProperty({ description: 'The HTTP status code, repeated.', minimum: 400, maximum: 599, example: 400 })
  statusCode!: number;

  @ApiProperty({ description: "The status code's reason phrase.", example: 'Bad Request' })
  error!: string;

  @ApiProperty({
    description: 'What was wrong, for a human, naming the field; several invalid fields are joined with "; ".',
    type: 'string',
    example: invalidTopicMessage('a b'),
  })
  message!: string;
}

/** `Retry-After` on 429 and 503: whole seconds to wait before trying again. */
export const RETRY_AFTER_HEADER: HeaderObject = {
  description: 'Seconds to wait before retrying (429: until the limit frees up; 503: `RETRY_AFTER_SECONDS`).',
  required: true,
  schema: { type: 'integer', minimum: 0, example: 30 },
};

export interface ErrorDoc {
  /** When this status is answered. */
  description: string;
  /** One `message` per cause, keyed by a short example name; a list is several invalid fields, answered joined. */
  examples: Record<string, string | string[]>;
  /** The answer carries `Retry-After` (429, 503). */
  retryAfter?: boolean;
}

/** The error body of `status` with a message. */
export function errorBody(status: number, message: string | string[]): HttpErrorBody {
  const text = Array.isArray(message) ? message.join('; ') : message;
  return { statusCode: status, error: STATUS_CODES[status] ?? 'Error', message: text };
}

/**
 * Documents refusals: each status with the {statusCode, error, message} body,
 * one example per cause, and `Retry-After` where the server sends it.
 */
export function ApiErrors(errors: Record<number, ErrorDoc>): MethodDecorator & ClassDecorator {
  const decorators = Object.entries(errors).map(([code, doc]) => {
    const status = Number(code);
    const examples = Object.fromEntries(
      Object.entries(doc.examples).map(([name, message]) => [
        name,
        { summary: Array.isArray(message) ? message.join('; ') : message, value: errorBody(status, message) },
      ]),
    );
    return ApiResponse({
      status,
      description: doc.description,
      headers: doc.retryAfter ? { 'Retry-After': RETRY_AFTER_HEADER } : undefined,
      content: { 'application/json': { schema: { $ref: getSchemaPath(HttpErrorBody) }, examples } },
    });
  });
  return applyDecorators(ApiExtraModels(HttpErrorBody), ...decorators);
}
