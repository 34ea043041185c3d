import { applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiSecurity } from '@nestjs/swagger';
import { ApiErrors, type ErrorDoc } from './http-error.schema.js';

/** Security scheme names of the OpenAPI document (all `Authorization: Bearer`). */
export const PUBLISHER_AUTH = 'publisher';
export const ADMIN_AUTH = 'admin';
export const SUBSCRIBER_AUTH = 'subscriber';
export const METRICS_AUTH = 'metrics';

/** Open unless METRICS_TOKEN is set; then `Authorization: Bearer <METRICS_TOKEN>`, else 401. */
export function ApiMetricsAuth(): MethodDecorator & ClassDecorator {
  return applyDecorators(
    // `{}`: anonymous access, the default (METRICS_TOKEN unset).
    ApiSecurity({}),
    ApiBearerAuth(METRICS_AUTH),
    ApiErrors({
      401: {
        description: 'METRICS_TOKEN is set and the request does not carry it.',
        examples: { missing: 'a valid metrics token is required (Authorization: Bearer <METRICS_TOKEN>)' },
      },
    }),
  );
}

/** `Authorization: Bearer <ADMIN_TOKEN>`; anything else is 401. */
export function ApiAdminAuth(): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiBearerAuth(ADMIN_AUTH),
    ApiErrors({
      401: {
        description: 'The admin token is missing or wrong.',
        examples: { missing: 'a valid admin token is required (Authorization: Bearer <ADMIN_TOKEN>)' },
      },
    }),
  );
}

/** PUBLISH_TOKEN, ADMIN_TOKEN or (with JWT_SECRET) a JWT whose `publish` claim allows the topics. */
export function ApiPublisherAuth({ scoped = true } = {}): MethodDecorator & ClassDecorator {
  const errors: Record<number, ErrorDoc> = {
    401: {
      description: 'No publisher credential, or one Herald does not accept.',
      examples: {
        missing: 'a publisher token is required (Authorization: Bearer <token>)',
        wrong: 'invalid publisher token',
        expired: 'invalid publisher token: token expired',
      },
    },
  };
  // `scoped: false`: an operation that narrows its answer to the token's topics instead of refusing.
  if (scoped) {
    errors[403] = {
      description: 'A JWT whose `publish` claim does not allow one of the topics.',
      examples: { notAllowed: 'this token may not publish to "trucks/42"' },
    };
  }
  return applyDecorators(ApiBearerAuth(PUBLISHER_AUTH), ApiErrors(errors));
}

/**
 * Subscriber auth is on only when JWT_SECRET is set: then an HS256 JWT whose
 * `topics` claim allows every topic, as Bearer, `access_token` or `herald_token`.
 */
export function ApiSubscriberAuth(): MethodDecorator & ClassDecorator {
  return applyDecorators(
    // `{}`: anonymous access, the default (subscriber auth off).
    ApiSecurity({}),
    ApiBearerAuth(SUBSCRIBER_AUTH),
    ApiErrors({
      401: {
        description: 'Subscriber auth is on (JWT_SECRET) and the token is missing, invalid or expired.',
        examples: {
          missing: 'a subscriber token is required (Bearer, access_token or herald_token cookie)',
          expired: 'invalid subscriber token: token expired',
        },
      },
      403: {
        description: "Subscriber auth is on and the token's `topics` claim does not allow a requested topic.",
        examples: { notAllowed: 'topic "trucks/42" is not allowed by this token' },
      },
    }),
  );
}
