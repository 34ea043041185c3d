import { describe, expect, it } from '@jest/globals';
import type {
  OpenAPIObject,
  ParameterObject,
  ReferenceObject,
  RequestBodyObject,
  ResponseObject,
  SchemaObject,
} from '@nestjs/swagger';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SseParser } from '../libs/sse/src/parser.js';
import { ChannelKinds } from '../src/alerts/channels/channel-kinds.js';
import { RULE_DEFAULTS } from '../src/alerts/dto/rule.dto.js';
import type { RunningHerald } from './support/herald.js';
import {
  CONTRACT_ORDER,
  frameProblems,
  openApiContract,
  operationsOf,
  parameterExample,
  registeredRoutes,
  type SchemaValidator,
} from './support/openapi-contract.js';

/** The document itself: valid OpenAPI 3.1, every route, every refusal, example and channel kind described. */

/**
 * Routes the server has that the document leaves out on purpose: Swagger UI's
 * own files, served by SwaggerModule next to `/docs` (its page under other
 * names, the script that carries the document, a LICENSE stub). They are part
 * of the documentation page, not of the API.
 */
const UNDOCUMENTED_ROUTES = [
  'GET /docs/',
  'GET /docs/index.html',
  'GET /docs/LICENSE',
  'GET /docs/swagger-ui-init.js',
  'GET /docs/docs/swagger-ui-init.js',
  // Only ever a 404 explaining that the topic is one URL-encoded segment (trucks/42 → trucks%2F42).
  'POST /v1/topics/*segments/events',
];

/** Operations whose refusals are not the error body, and why. */
const OWN_ERROR_BODY: Record<string, string> = {
  getOpenApiDocument: 'it has no refusals',
  getLiveness: "a probe's 503 is Terminus' result, naming the indicator that is down",
  getReadiness: "a probe's 503 is Terminus' result, naming the indicator that is down",
  getStartup: "a probe's 503 is Terminus' result, naming the indicator that is down",
};

/** @apidevtools/swagger-parser's validate(): the OpenAPI 3.1 schema plus its own checks (refs, ids, params). */
const VALIDATE = `
import SwaggerParser from '@apidevtools/swagger-parser';
await SwaggerParser.validate(process.argv[1]);
console.log('valid');
`;

describe('OpenAPI: /openapi.json and the running server agree', () => {
  let herald: RunningHerald;
  let document: OpenAPIObject;
  let validator: SchemaValidator;
  const { op } = openApiContract((server) => ({ herald, document, validator } = server));

  describe('the document', () => {
    it('is served as JSON at /openapi.json and passes @apidevtools/swagger-parser validation', async () => {
      const answer = await fetch(`${herald.url}/openapi.json`);
      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
      expect(document.openapi).toBe('3.1.0');
      // In a child process: validation blocks for about a second, and the apps share this event loop.
      const file = join(mkdtempSync(join(tmpdir(), 'herald-openapi-')), 'openapi.json');
      writeFileSync(file, JSON.stringify(document));
      const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', VALIDATE, file]);
      expect(stdout.trim()).toBe('valid');
    });

    it('lists every route the server has, and only those', () => {
      const documented = operationsOf(document).map(
        (operation) => `${operation.method.toUpperCase()} ${operation.path}`,
      );
      const registered = registeredRoutes(herald.app);
      expect(registered.filter((route) => !documented.includes(route) && !UNDOCUMENTED_ROUTES.includes(route))).toEqual(
        [],
      );
      expect(documented.filter((route) => !registered.includes(route))).toEqual([]);
      // The exclusions are real routes (a stale list would hide nothing).
      expect(UNDOCUMENTED_ROUTES.filter((route) => !registered.includes(route))).toEqual([]);
    });

    it('names, tags, summarizes each operation, and the contract below calls every one', () => {
      const all = operationsOf(document);
      expect(new Set(all.map((operation) => operation.id)).size).toBe(all.length);
      for (const { id, operation } of all) {
        expect({ id, operationId: operation.operationId, hasSummary: Boolean(operation.summary) }).toEqual({
          id,
          operationId: expect.stringMatching(/^[a-z][A-Za-z]+$/),
          hasSummary: true,
        });
        expect({ id, tags: operation.tags?.length }).toEqual({ id, tags: 1 });
      }
      expect([...all.map((operation) => operation.id)].sort()).toEqual([...CONTRACT_ORDER].sort());
    });

    it('documents every refusal with the {statusCode, error, message} body, and Retry-After on 429 and 503', () => {
      for (const { id, operation } of operationsOf(document)) {
        for (const [status, response] of Object.entries(operation.responses)) {
          if (Number(status) < 400 || id in OWN_ERROR_BODY) continue;
          const { content, headers } = response as ResponseObject;
          expect({ id, status, schema: content?.['application/json']?.schema }).toEqual({
            id,
            status,
            schema: { $ref: '#/components/schemas/HttpErrorBody' },
          });
          const retryAfter = headers?.['Retry-After'] as { required?: boolean } | undefined;
          // Configuration-store failures (503) are answered without Retry-After: nothing tells when a disk frees up.
          // A 409 on publish is an Idempotency-Key still in flight: the answer comes within a second.
          const storeFailure = id.includes('Alert') || id.includes('OccupancyWebhook');
          const expectRetryAfter =
            status === '429' || (status === '503' && !storeFailure) || (status === '409' && id.startsWith('publish'));
          expect({ id, status, retryAfter: retryAfter?.required === true }).toEqual({
            id,
            status,
            retryAfter: expectRetryAfter,
          });
        }
      }
    });

    it('gives examples that fit their own schemas (parameters, bodies, answers)', () => {
      const problems: string[] = [];
      const checkExample = (where: string, schema: unknown, value: unknown): void => {
        if (schema === undefined || value === undefined) return;
        for (const error of validator.errors(schema as SchemaObject, value)) problems.push(`${where}: ${error}`);
      };
      let examples = 0;
      for (const { id, operation } of operationsOf(document)) {
        for (const parameter of (operation.parameters ?? []) as ParameterObject[]) {
          const example = parameterExample(parameter);
          if (example !== undefined) examples++;
          checkExample(`${id} parameter ${parameter.name}`, parameter.schema, example);
        }
        const media = Object.entries((operation.requestBody as RequestBodyObject | undefined)?.content ?? {});
        const responses = Object.entries(operation.responses).flatMap(([status, response]) =>
          Object.entries((response as ResponseObject).content ?? {}).map(
            ([type, content]) => [`${status} ${type}`, content] as const,
          ),
        );
        for (const [where, content] of [...media.map(([type, m]) => [`body ${type}`, m] as const), ...responses]) {
          const itemSchema = (content as { 'x-itemSchema'?: SchemaObject })['x-itemSchema'];
          if (where.endsWith('text/event-stream') && itemSchema) {
            for (const [name, example] of Object.entries(content.examples ?? {})) {
              examples++;
              const frames = new SseParser().feed((example as { value: string }).value).events;
              const format = name === 'envelope' ? 'envelope' : 'raw';
              for (const problem of frameProblems(validator, itemSchema, frames, format))
                problems.push(`${id} ${name}: ${problem}`);
              if (frames.length === 0) problems.push(`${id} ${name}: an example stream without frames`);
            }
          }
          if (!where.endsWith('json')) continue;
          if (content.example !== undefined) examples++;
          checkExample(`${id} ${where}`, content.schema, content.example);
          for (const [name, example] of Object.entries(content.examples ?? {})) {
            examples++;
            checkExample(`${id} ${where} example ${name}`, content.schema, (example as { value: unknown }).value);
          }
        }
      }
      for (const [name, schema] of Object.entries(document.components?.schemas ?? {})) {
        for (const [property, propertySchema] of Object.entries((schema as SchemaObject).properties ?? {})) {
          const example = (propertySchema as SchemaObject).example;
          if (example !== undefined) examples++;
          checkExample(`${name}.${property}`, propertySchema, example);
        }
      }
      expect(problems).toEqual([]);
      expect(examples).toBeGreaterThan(150);
    });

    it('shows an example for every field of every schema, every request body and every JSON answer', () => {
      const missing: string[] = [];
      const selfExplained = (schema: SchemaObject & { $ref?: string }): boolean =>
        schema.$ref !== undefined ||
        schema.allOf !== undefined ||
        schema.oneOf !== undefined ||
        schema.anyOf !== undefined ||
        schema.enum !== undefined ||
        (schema.items as (SchemaObject & { $ref?: string }) | undefined)?.$ref !== undefined ||
        (schema.items as SchemaObject | undefined)?.enum !== undefined;
      for (const [name, schema] of Object.entries(document.components?.schemas ?? {})) {
        for (const [property, value] of Object.entries((schema as SchemaObject).properties ?? {})) {
          const field = value as SchemaObject;
          if (field.example === undefined && !selfExplained(field)) missing.push(`${name}.${property}`);
        }
      }
      for (const { id, operation } of operationsOf(document)) {
        const body = (operation.requestBody as RequestBodyObject | undefined)?.content['application/json'];
        if (body && body.example === undefined && body.examples === undefined) missing.push(`${id} request body`);
        for (const [status, response] of Object.entries(operation.responses)) {
          const json = (response as ResponseObject).content?.['application/json'];
          if (!json || id === 'getOpenApiDocument') continue;
          const schema = json.schema as SchemaObject & { $ref?: string };
          if (json.example === undefined && json.examples === undefined && !selfExplained(schema)) {
            missing.push(`${id} ${status}`);
          }
        }
      }
      expect(missing).toEqual([]);
    });

    it('describes each alert channel kind the server has, as a oneOf with a discriminator on kind', () => {
      const create = op('createAlertChannel').operation;
      const requestSchema = (create.requestBody as RequestBodyObject).content['application/json']
        .schema as SchemaObject;
      const answerSchema = (create.responses['201'] as ResponseObject).content?.['application/json']
        .schema as SchemaObject;
      const kinds = herald.get<ChannelKinds>(ChannelKinds).names.sort();
      for (const schema of [requestSchema, answerSchema]) {
        expect(schema.discriminator?.propertyName).toBe('kind');
        expect(Object.keys(schema.discriminator?.mapping ?? {}).sort()).toEqual(kinds);
        expect(schema.oneOf?.map((branch) => (branch as ReferenceObject).$ref).sort()).toEqual(
          Object.values(schema.discriminator?.mapping ?? {}).sort(),
        );
        for (const [kind, ref] of Object.entries(schema.discriminator?.mapping ?? {})) {
          const branch = validator.schema(ref.split('/').pop() as string);
          expect({ kind, enum: (branch.properties?.kind as SchemaObject).enum, required: branch.required }).toEqual({
            kind,
            enum: [kind],
            required: expect.arrayContaining(['kind', 'name']),
          });
        }
      }
      const rule = validator.schema('RuleDto').properties as Record<string, SchemaObject>;
      for (const [field, value] of Object.entries(RULE_DEFAULTS))
        expect({ field, default: rule[field].default }).toEqual({ field, default: value });
    });
  });
});
