import { applyDecorators } from '@nestjs/common';
import {
  ApiBody,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  type ApiBodyOptions,
  type ApiOperationOptions,
  type ApiResponseOptions,
} from '@nestjs/swagger';
import { ApiErrors, type ErrorDoc } from './http-error.schema.js';

/**
 * The documentation every admin CRUD resource with a chosen-or-made id shares
 * (alert channels and rules, occupancy webhooks): its id in the path, 400, 404,
 * 409 for a taken id, 503 when the store failed.
 */
export interface AdminResource {
  /** `channel` → "The channel id." */
  noun: string;
  invalid: ErrorDoc;
  missing: ErrorDoc;
  notSaved: ErrorDoc;
}

type Decorator = MethodDecorator & ClassDecorator;

/** The id in the path; `example` names one the documented call can use. */
const idParam = (resource: AdminResource, example: string): MethodDecorator =>
  ApiParam({ name: 'id', description: `The ${resource.noun} id.`, schema: { type: 'string', example } });

export const ApiAdminCreate = (
  resource: AdminResource,
  operation: ApiOperationOptions,
  body: ApiBodyOptions,
  created: ApiResponseOptions,
  takenId: string,
): Decorator =>
  applyDecorators(
    ApiOperation(operation),
    ApiBody(body),
    ApiCreatedResponse({ description: 'Created.', ...created }),
    ApiErrors({
      400: resource.invalid,
      409: { description: 'The chosen `id` is taken.', examples: { taken: `the id "${takenId}" is taken` } },
      503: resource.notSaved,
    }),
  );

export const ApiAdminGet = (
  resource: AdminResource,
  operation: ApiOperationOptions,
  idExample: string,
  ok: ApiResponseOptions,
): Decorator =>
  applyDecorators(
    ApiOperation(operation),
    idParam(resource, idExample),
    ApiOkResponse(ok),
    ApiErrors({ 404: resource.missing }),
  );

/** `otherId`: the path id of the refusal example for a body naming another id. */
export const ApiAdminReplace = (
  resource: AdminResource,
  operation: ApiOperationOptions,
  idExample: string,
  body: ApiBodyOptions,
  ok: ApiResponseOptions,
  otherId: string,
): Decorator =>
  applyDecorators(
    ApiOperation(operation),
    idParam(resource, idExample),
    ApiBody(body),
    ApiOkResponse({ description: 'Replaced.', ...ok }),
    ApiErrors({
      400: {
        ...resource.invalid,
        examples: {
          ...resource.invalid.examples,
          otherId: [`id must be "${otherId}" (the id in the path) or left out`],
        },
      },
      404: resource.missing,
      503: resource.notSaved,
    }),
  );

/** `inUse`: the 409 of a resource others still refer to. */
export const ApiAdminDelete = (
  resource: AdminResource,
  operation: ApiOperationOptions,
  idExample: string,
  inUse?: ErrorDoc,
): Decorator =>
  applyDecorators(
    ApiOperation(operation),
    idParam(resource, idExample),
    ApiNoContentResponse({ description: 'Deleted.' }),
    ApiErrors(
      inUse
        ? { 404: resource.missing, 409: inUse, 503: resource.notSaved }
        : { 404: resource.missing, 503: resource.notSaved },
    ),
  );
