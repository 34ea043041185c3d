import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { OpenAPIObject, OperationObject, ParameterObject, RequestBodyObject, SchemaObject } from '@nestjs/swagger';
import { HttpReceiver } from './support/alert-receivers.js';
import { openApiContract, type SchemaValidator } from './support/openapi-contract.js';

/** The webhooks the document declares, as a channel really sends them. */

describe('OpenAPI: /openapi.json and the running server agree', () => {
  let document: OpenAPIObject;
  let validator: SchemaValidator;
  const { op, documentedCall, check } = openApiContract((server) => ({ document, validator } = server));

  describe('the webhook a channel sends (OpenAPI webhooks)', () => {
    let receiver: HttpReceiver;
    beforeAll(async () => {
      receiver = await new HttpReceiver().start();
    });
    afterAll(() => receiver.close());

    it('is the documented body with the documented headers, signed only with a secret', async () => {
      const webhook = document.webhooks?.alertNotification?.post as OperationObject;
      const schema = (webhook.requestBody as RequestBodyObject).content['application/json'].schema as SchemaObject;
      const headerParameters = (webhook.parameters ?? []) as ParameterObject[];
      const create = op('createAlertChannel');
      const test = op('testAlertChannel');
      for (const [id, secret] of [
        ['signed-hook', 'a-long-shared-secret'],
        ['plain-hook', undefined],
      ] as const) {
        const url = receiver.url(`/${id}`);
        await check(create, documentedCall(create, {}, { id, name: id, kind: 'webhook', url, secret }), 201);
        await check(test, documentedCall(test, { path: { id } }), 200);
        const [received] = await receiver.waitFor(`/${id}`, 1);
        expect(validator.errors(schema, received.json)).toEqual([]);
        for (const parameter of headerParameters) {
          const value = received.headers[parameter.name.toLowerCase()];
          const expected = parameter.required || (parameter.name === 'X-Herald-Signature' && secret !== undefined);
          expect({ header: parameter.name, present: value !== undefined }).toEqual({
            header: parameter.name,
            present: expected,
          });
          if (value !== undefined) expect(validator.errors(parameter.schema as SchemaObject, value)).toEqual([]);
        }
      }
    });
  });
});
