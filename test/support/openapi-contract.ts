import { afterAll, beforeAll, expect } from '@jest/globals';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type {
  OpenAPIObject,
  OperationObject,
  ParameterObject,
  RequestBodyObject,
  ResponseObject,
  SchemaObject,
} from '@nestjs/swagger';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { SseParser, type ParsedEvent } from '../../libs/sse/src/parser.js';
import { ADMIN_TOKEN, PUBLISH_TOKEN, startHerald, type RunningHerald } from './herald.js';

/**
 * Tools to hold a running Herald to its own OpenAPI document: the operations
 * it lists, the routes Express really has, and JSON Schema validation (ajv,
 * draft 2020-12 as OpenAPI 3.1 uses) of answers against the documented schemas;
 * and `openApiContract()`, the setup the test/openapi-*.e2e-spec.ts suites share.
 */

const addFormats = addFormatsModule.default;
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

export interface DocumentedOperation {
  id: string;
  method: string;
  /** The OpenAPI path template, e.g. `/v1/topics/{topic}/events`. */
  path: string;
  operation: OperationObject;
}

export function operationsOf(document: OpenAPIObject): DocumentedOperation[] {
  const operations: DocumentedOperation[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const operation = item[method];
      if (operation) operations.push({ id: operation.operationId ?? `${method} ${path}`, method, path, operation });
    }
  }
  return operations;
}

interface ExpressLayer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
}

/** `METHOD /path/{param}` for every route registered on the app's Express router. */
export function registeredRoutes(app: NestExpressApplication): string[] {
  const express = app.getHttpAdapter().getInstance() as { router: { stack: ExpressLayer[] } };
  const routes = new Set<string>();
  for (const layer of express.router.stack) {
    if (!layer.route) continue;
    const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
    for (const path of paths) {
      for (const [method, enabled] of Object.entries(layer.route.methods)) {
        if (enabled && method !== '_all') routes.add(`${method.toUpperCase()} ${path.replace(/:(\w+)/g, '{$1}')}`);
      }
    }
  }
  return [...routes].sort();
}

/** Rewrites `#/components/schemas/X` to `doc#/$defs/X`, so ajv resolves refs in one registered schema. */
function rewriteRefs<T>(value: T): T {
  return JSON.parse(JSON.stringify(value).replaceAll('"#/components/schemas/', '"herald-openapi#/$defs/')) as T;
}

/** ajv over the document's component schemas; compiles any schema of the document. */
export class SchemaValidator {
  private readonly ajv: Ajv2020;
  private readonly cache = new Map<string, ValidateFunction>();

  constructor(private readonly document: OpenAPIObject) {
    this.ajv = new Ajv2020({ strict: true, allErrors: true, strictTypes: false });
    addFormats(this.ajv);
    // OpenAPI's own annotations on schemas; `discriminator` only names the branch `oneOf` finds anyway.
    this.ajv.addVocabulary(['example', 'discriminator', 'xml', 'externalDocs']);
    this.ajv.addSchema({ $id: 'herald-openapi', $defs: rewriteRefs(document.components?.schemas ?? {}) });
  }

  /** The problems of `value` against `schema` (a document schema or `{$ref}`), empty when valid. */
  errors(schema: SchemaObject | { $ref: string }, value: unknown): string[] {
    const key = JSON.stringify(schema);
    let validate = this.cache.get(key);
    if (!validate) {
      validate = this.ajv.compile(rewriteRefs(schema));
      this.cache.set(key, validate);
    }
    if (validate(value)) return [];
    return (validate.errors ?? []).map((error) => `${error.instancePath || '(root)'} ${error.message ?? ''}`);
  }

  /** A reference to a component schema. */
  component(name: string): { $ref: string } {
    return { $ref: `#/components/schemas/${name}` };
  }

  /** A component schema itself. */
  schema(name: string): SchemaObject {
    const schema = this.document.components?.schemas?.[name];
    if (!schema) throw new Error(`no component schema ${name}`);
    return schema as SchemaObject;
  }
}

/** The documented example of a parameter: its own, its first named one, or its schema's. */
export function parameterExample(parameter: ParameterObject): unknown {
  if (parameter.example !== undefined) return parameter.example;
  const named = Object.values(parameter.examples ?? {})[0] as { value?: unknown } | undefined;
  if (named?.value !== undefined) return named.value;
  const schema = parameter.schema as SchemaObject | undefined;
  if (schema?.example !== undefined) return schema.example;
  return Array.isArray(schema?.examples) ? schema.examples[0] : undefined;
}

export interface HttpCall {
  method: string;
  /** Path with its parameters already filled in and encoded. */
  path: string;
  query?: Record<string, string | string[]>;
  headers?: Record<string, string>;
  /** Sent as JSON unless `rawBody` is given. */
  body?: unknown;
  rawBody?: { contentType: string; text: string };
  localAddress?: string;
}

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body text (for a stream: what arrived before `until` held). */
  text: string;
  /** Frames parsed from a `text/event-stream` answer. */
  frames: ParsedEvent[];
  retries: number[];
}

export interface StreamOptions {
  /** Stop reading once this holds (the connection is then closed by the client). */
  until: (answer: HttpAnswer) => boolean;
  timeoutMs?: number;
  /** Called once the stream's head arrived, e.g. to publish or kick while it is open. */
  onOpen?: (answer: HttpAnswer) => void | Promise<void>;
}

/** One HTTP exchange on a fresh connection; a `text/event-stream` answer is read until `stream.until` holds. */
export function send(baseUrl: string, call: HttpCall, stream?: StreamOptions): Promise<HttpAnswer> {
  const url = new URL(call.path, baseUrl);
  for (const [name, value] of Object.entries(call.query ?? {})) {
    for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(name, item);
  }
  const headers: Record<string, string> = { ...call.headers };
  let payload: string | undefined;
  if (call.rawBody) {
    headers['content-type'] = call.rawBody.contentType;
    payload = call.rawBody.text;
  } else if (call.body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(call.body);
  }
  return new Promise<HttpAnswer>((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: call.method.toUpperCase(), headers, localAddress: call.localAddress, agent: false },
      (res) => {
        const answer: HttpAnswer = {
          status: res.statusCode ?? 0,
          headers: res.headers,
          text: '',
          frames: [],
          retries: [],
        };
        const isStream = /^text\/event-stream/.test(res.headers['content-type'] ?? '');
        const parser = new SseParser();
        let done = false;
        const finish = (): void => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          res.destroy();
          resolve(answer);
        };
        const timer = setTimeout(
          () =>
            isStream ? reject(new Error(`stream condition not met; got ${JSON.stringify(answer.text)}`)) : finish(),
          stream?.timeoutMs ?? 10_000,
        );
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          answer.text += chunk;
          if (!isStream) return;
          const parsed = parser.feed(chunk);
          answer.frames.push(...parsed.events);
          answer.retries.push(...parsed.retries);
          if (stream?.until(answer)) finish();
        });
        res.on('end', finish);
        res.on('close', finish);
        if (isStream && stream?.onOpen) void Promise.resolve(stream.onOpen(answer)).catch(reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** `type/subtype` of a Content-Type header. */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0].trim().toLowerCase();
}

interface HeaderDoc {
  required?: boolean;
  schema?: SchemaObject;
}

interface ResponseDoc {
  headers?: Record<string, HeaderDoc>;
  content?: Record<string, { schema?: SchemaObject; 'x-itemSchema'?: SchemaObject }>;
}

/** Everything about `answer` that contradicts what `operation` documents for its status; empty when true. */
export function answerProblems(
  validator: SchemaValidator,
  operation: OperationObject,
  answer: HttpAnswer,
  options: { format?: 'raw' | 'envelope' } = {},
): string[] {
  const response = operation.responses[String(answer.status)] as ResponseDoc | undefined;
  if (!response) {
    return [
      `status ${answer.status} is not documented (${Object.keys(operation.responses).join(', ')}): ${answer.text}`,
    ];
  }
  const problems: string[] = [];
  for (const [name, header] of Object.entries(response.headers ?? {})) {
    const raw = answer.headers[name.toLowerCase()];
    if (raw === undefined) {
      if (header.required) problems.push(`header ${name} is missing`);
      continue;
    }
    const value = Array.isArray(raw) ? raw.join(', ') : raw;
    const numeric = header.schema?.type === 'integer' || header.schema?.type === 'number';
    const typed = numeric && /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
    for (const error of validator.errors(header.schema ?? {}, typed))
      problems.push(`header ${name}=${value}: ${error}`);
  }
  const type = mediaType(answer.headers['content-type']);
  if (!response.content) {
    if (answer.text !== '') problems.push(`a body was sent but none is documented: ${answer.text.slice(0, 200)}`);
    return problems;
  }
  const media = Object.entries(response.content).find(([key]) => mediaType(key) === type)?.[1];
  if (!media) {
    problems.push(`Content-Type ${type} is not documented (${Object.keys(response.content).join(', ')})`);
    return problems;
  }
  if (type === 'application/json') {
    let body: unknown;
    try {
      body = JSON.parse(answer.text);
    } catch {
      return [...problems, `the body is not JSON: ${answer.text.slice(0, 200)}`];
    }
    for (const error of validator.errors(media.schema ?? {}, body)) problems.push(`body${error}`);
  } else if (type === 'text/event-stream') {
    const itemSchema = media['x-itemSchema'];
    if (!itemSchema) problems.push('a text/event-stream response without x-itemSchema');
    else problems.push(...frameProblems(validator, itemSchema, answer.frames, options.format ?? 'raw'));
  } else {
    for (const error of validator.errors(media.schema ?? {}, answer.text)) problems.push(`body${error}`);
  }
  return problems;
}

/**
 * The frame schema a parsed event must match, among the item schema's
 * members: the one whose `event` enum names it, else the generic one (for
 * Herald's own stream: raw or envelope, by the format it was opened with).
 */
export function frameComponent(
  validator: SchemaValidator,
  itemSchema: SchemaObject,
  frame: ParsedEvent,
  format: 'raw' | 'envelope',
): string {
  const members = (itemSchema.anyOf ?? itemSchema.oneOf ?? []).map((member) =>
    String((member as { $ref: string }).$ref).replace('#/components/schemas/', ''),
  );
  const eventEnum = (name: string): unknown[] | undefined =>
    (validator.schema(name).properties?.event as SchemaObject | undefined)?.enum;
  const named = members.filter((name) => eventEnum(name)?.includes(frame.event));
  const generic = members.filter((name) => eventEnum(name) === undefined);
  const candidates = named.length > 0 ? named : generic;
  const chosen =
    candidates.length > 1
      ? candidates.filter((name) => name.includes('Envelope') === (format === 'envelope'))
      : candidates;
  if (chosen.length !== 1) throw new Error(`no single frame schema for event ${frame.event}: ${candidates.join(', ')}`);
  return chosen[0];
}

/** Each frame against the stream's item schema, its own frame schema and, for JSON `data:`, its contentSchema. */
export function frameProblems(
  validator: SchemaValidator,
  itemSchema: SchemaObject,
  frames: ParsedEvent[],
  format: 'raw' | 'envelope',
): string[] {
  const problems: string[] = [];
  for (const frame of frames) {
    const value: Record<string, unknown> = { event: frame.event, data: frame.data };
    if (frame.id !== undefined) value.id = frame.id;
    const name = frameComponent(validator, itemSchema, frame, format);
    const label = `frame ${JSON.stringify(value)}`;
    for (const error of validator.errors(itemSchema, value)) problems.push(`${label} (item schema): ${error}`);
    for (const error of validator.errors(validator.component(name), value))
      problems.push(`${label} (${name}): ${error}`);
    const dataSchema = validator.schema(name).properties?.data as SchemaObject & {
      contentMediaType?: string;
      contentSchema?: SchemaObject;
    };
    if (dataSchema?.contentMediaType === 'application/json' && dataSchema.contentSchema) {
      let data: unknown;
      try {
        data = JSON.parse(frame.data);
      } catch {
        problems.push(`${label}: data is not JSON`);
        continue;
      }
      for (const error of validator.errors(dataSchema.contentSchema, data)) problems.push(`${label} data: ${error}`);
    }
  }
  return problems;
}

// The contract suites' shared setup.

/**
 * Every operation, in the order the contract calls them with their documented
 * examples (later calls rely on what earlier ones created).
 */
export const CONTRACT_ORDER = [
  'getIndex',
  'getOpenApiDocument',
  'getApiDocsPage',
  'subscribe',
  'poll',
  'publish',
  'publishBatch',
  'getTopic',
  'getTopicPresence',
  'listTopics',
  'listConnections',
  'kickConnection',
  'getClientFile',
  'getFleetExample',
  'createAlertChannel',
  'listAlertChannels',
  'getAlertChannel',
  'replaceAlertChannel',
  'testAlertChannel',
  'createAlertRule',
  'listAlertRules',
  'getAlertRule',
  'replaceAlertRule',
  'deleteAlertRule',
  'deleteAlertChannel',
  'listAlertHistory',
  'listActiveAlerts',
  'createOccupancyWebhook',
  'listOccupancyWebhooks',
  'getOccupancyWebhook',
  'replaceOccupancyWebhook',
  'deleteOccupancyWebhook',
  'getStatus',
  'getMetrics',
  'getDashboard',
  'getDashboardAsset',
  'streamDashboard',
  'getLiveness',
  'getReadiness',
  'getStartup',
];

/** A documented example that is, by design, answered with a documented refusal. */
export const EXAMPLE_STATUS: Record<string, number> = {
  // The example id is a made-up connection: openapi.e2e-spec.ts kicks a live stream.
  kickConnection: 404,
};

const TOKENS: Record<string, string> = { publisher: PUBLISH_TOKEN, admin: ADMIN_TOKEN };

export interface CallOptions {
  path?: Record<string, string>;
  query?: Record<string, string | string[]>;
  headers?: Record<string, string>;
  body?: unknown;
  rawBody?: HttpCall['rawBody'];
  /** Parameters to leave out although they have an example. */
  omit?: string[];
  /** `null`: no credential; a string: this bearer token; default: the documented scheme's token. */
  token?: string | null;
  localAddress?: string;
}

/** What a suite's tests read once the contract's Herald is up. */
export interface ContractServer {
  herald: RunningHerald;
  document: OpenAPIObject;
  validator: SchemaValidator;
  /** A port nobody listens on (ECONNREFUSED). */
  closedPort: number;
}

/**
 * Starts one Herald for a suite (beforeAll/afterAll), hands it to `ready`, and
 * gives the calls its tests make: the request the document describes for an
 * operation, and `check()`, which sends it and holds the answer to the document.
 */
export function openApiContract(
  ready: (server: ContractServer) => void,
  env: Record<string, string> = { ALERTS_SEND_RETRIES: '0', ALERTS_SEND_TIMEOUT_MS: '2000' },
) {
  /** `operationId status` of every answer checked against the document. */
  const observed = new Set<string>();
  let herald: RunningHerald;
  let document: OpenAPIObject;
  let validator: SchemaValidator;
  let operations: Map<string, DocumentedOperation>;
  let closedPort: number;

  beforeAll(async () => {
    herald = await startHerald(env);
    const answer = await fetch(`${herald.url}/openapi.json`);
    document = (await answer.json()) as OpenAPIObject;
    validator = new SchemaValidator(document);
    operations = new Map(operationsOf(document).map((operation) => [operation.id, operation]));
    // A port nobody listens on (ECONNREFUSED): bound for a moment to learn a free one, then closed.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    closedPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    ready({ herald, document, validator, closedPort });
  });
  afterAll(() => herald.close());

  function op(id: string): DocumentedOperation {
    const found = operations.get(id);
    if (!found) throw new Error(`operation ${id} is not documented`);
    return found;
  }

  function parameters(operation: DocumentedOperation): ParameterObject[] {
    return (operation.operation.parameters ?? []) as ParameterObject[];
  }

  /** The request the document describes for `operation`, with `options` over its examples. */
  function documentedCall(operation: DocumentedOperation, options: CallOptions = {}, body?: unknown): HttpCall {
    let path = operation.path;
    const query: Record<string, string | string[]> = {};
    const headers: Record<string, string> = {};
    for (const parameter of parameters(operation)) {
      const given =
        parameter.in === 'path'
          ? options.path?.[parameter.name]
          : parameter.in === 'query'
            ? options.query?.[parameter.name]
            : options.headers?.[parameter.name];
      if (options.omit?.includes(parameter.name)) continue;
      const value = given ?? parameterExample(parameter);
      if (value === undefined) {
        if (parameter.required) throw new Error(`${operation.id}: no example for required ${parameter.name}`);
        continue;
      }
      if (parameter.in === 'path') path = path.replace(`{${parameter.name}}`, encodeURIComponent(String(value)));
      else if (parameter.in === 'query')
        query[parameter.name] = Array.isArray(value) ? value.map(String) : String(value);
      else if (parameter.in === 'header') headers[parameter.name] = String(value);
    }
    Object.assign(query, options.query);
    Object.assign(headers, options.headers);
    const token = options.token === undefined ? documentedToken(operation) : options.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    return {
      method: operation.method,
      path,
      query,
      headers,
      body: options.body ?? body,
      rawBody: options.rawBody,
      localAddress: options.localAddress,
    };
  }

  /** The token of the operation's first security requirement, or null when anonymous access is allowed. */
  function documentedToken(operation: DocumentedOperation): string | null {
    const security = operation.operation.security ?? [];
    if (security.length === 0 || security.some((requirement) => Object.keys(requirement).length === 0)) return null;
    const scheme = Object.keys(security[0])[0];
    const token = TOKENS[scheme];
    if (!token) throw new Error(`${operation.id}: no test token for security scheme ${scheme}`);
    return token;
  }

  /** The named examples of the JSON request body (an undefined body when there is none). */
  function bodyExamples(operation: DocumentedOperation): [string, unknown][] {
    const body = operation.operation.requestBody as RequestBodyObject | undefined;
    const media = body?.content['application/json'];
    if (!media) return [['no body', undefined]];
    if (media.example !== undefined) return [['example', media.example]];
    const named = Object.entries(media.examples ?? {}).map(
      ([name, example]) => [name, (example as { value: unknown }).value] as [string, unknown],
    );
    if (named.length === 0) throw new Error(`${operation.id}: a request body without an example`);
    return named;
  }

  function isStream(operation: DocumentedOperation): boolean {
    const ok = operation.operation.responses['200'] as ResponseObject | undefined;
    return ok?.content?.['text/event-stream'] !== undefined;
  }

  /** Calls the server and checks the answer against the document; returns it for further checks. */
  async function check(
    operation: DocumentedOperation,
    call: HttpCall,
    expected: number,
    options: { stream?: StreamOptions; format?: 'raw' | 'envelope'; server?: RunningHerald } = {},
  ): Promise<HttpAnswer> {
    const stream = options.stream ?? (isStream(operation) ? { until: () => true } : undefined);
    const answer = await send((options.server ?? herald).url, call, stream);
    observed.add(`${operation.id} ${answer.status}`);
    expect({ status: answer.status, body: answer.status === expected ? '' : answer.text }).toEqual({
      status: expected,
      body: '',
    });
    expect(answerProblems(validator, operation.operation, answer, { format: options.format })).toEqual([]);
    return answer;
  }

  function successStatus(operation: DocumentedOperation): number {
    const codes = Object.keys(operation.operation.responses).map(Number);
    return EXAMPLE_STATUS[operation.id] ?? Math.min(...codes.filter((code) => code >= 200 && code < 300));
  }

  return {
    observed,
    op,
    documentedCall,
    documentedToken,
    bodyExamples,
    isStream,
    check,
    successStatus,
  };
}
