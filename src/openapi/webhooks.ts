import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional, type ParameterObject } from '@nestjs/swagger';
import { IsOptional, IsString, Length } from 'class-validator';
import { MASK } from '../alerts/alert-model.js';

/** The HMAC key of a webhook (alert channel or occupancy webhook) in a request body: write-only. */
export const WEBHOOK_SECRET_PROPERTY = {
  type: 'string',
  nullable: true,
  minLength: 1,
  maxLength: 1024,
  description:
    `The HMAC key of \`X-Herald-Signature\`, write-only (answers show \`${MASK}\`). On replace: left out or sent ` +
    'back masked keeps the stored one; `null` removes it.',
  example: 'a-long-shared-secret',
} as const;

/** The `secret` of a webhook body: documented and validated (`null` passes: it removes the secret on replace). */
export const IsWebhookSecret = (): PropertyDecorator =>
  applyDecorators(ApiPropertyOptional(WEBHOOK_SECRET_PROPERTY), IsOptional(), IsString(), Length(1, 1024));

/**
 * The headers of every webhook Herald sends (src/outbound/signed-webhook.ts);
 * `delivery` says what one `X-Herald-Delivery` stands for, `signed` who has the secret.
 */
export function webhookHeaderParameters(delivery: string, signed: string): ParameterObject[] {
  return [
    {
      name: 'X-Herald-Timestamp',
      in: 'header',
      required: true,
      description: 'When this attempt was sent, unix ms; part of the signed text.',
      schema: { type: 'string', pattern: '^[0-9]{13}$', example: '1795459440620' },
    },
    {
      name: 'X-Herald-Delivery',
      in: 'header',
      required: true,
      description: delivery,
      schema: { type: 'string', format: 'uuid' },
    },
    {
      name: 'X-Herald-Signature',
      in: 'header',
      required: false,
      description: `Only when the ${signed} has a secret: \`sha256=<hex HMAC-SHA256 of "<X-Herald-Timestamp>.<raw body>">\`.`,
      schema: { type: 'string', pattern: '^sha256=[0-9a-f]{64}$' },
    },
  ];
}
