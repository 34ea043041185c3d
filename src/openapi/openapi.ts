import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject, type PathItemObject } from '@nestjs/swagger';
import { EVENT_TYPE_RULE_DOC, TOPIC_RULE_DOC } from '@herald/sse';
import { packageVersion } from '../config/package-root.js';
import { ALERT_WEBHOOKS } from '../alerts/alerts.openapi.js';
import { OCCUPANCY_WEBHOOKS } from '../presence/webhooks/occupancy-webhooks.schema.js';
import { ADMIN_AUTH, METRICS_AUTH, PUBLISHER_AUTH, SUBSCRIBER_AUTH } from './security.js';
import { TAG_DESCRIPTIONS, TAGS } from './tags.js';

/** Where the document and its UI are served. */
export const OPENAPI_JSON_PATH = '/openapi.json';
export const DOCS_PATH = '/docs';

const DESCRIPTION = `
Herald is a Server-Sent Events gateway: publishers \`POST\` events to topics, subscribers hold
\`text/event-stream\` connections (or long-poll) and get them pushed, with exact resume after a disconnect.

**Topics** are ${TOPIC_RULE_DOC}; **event types** ${EVENT_TYPE_RULE_DOC.replace(' characters', '')}
(default \`message\`). **Event ids** are assigned by Herald, \`<epoch>-<seq>\`: totally
ordered within one history, so one \`Last-Event-ID\` resumes a stream of many topics.

**Errors** are always JSON \`{"statusCode", "error", "message"}\`. \`429\` and \`503\` carry \`Retry-After\`
(seconds). A refused stream never counts as a connection.

**Credentials** are all \`Authorization: Bearer\`: \`publisher\` (PUBLISH_TOKEN, ADMIN_TOKEN, or a JWT with a
\`publish\` claim), \`admin\` (ADMIN_TOKEN), \`subscriber\` (a JWT with a \`topics\` claim; only when the server
has JWT_SECRET, else streams are open to anyone).
`.trim();

/** The two routes SwaggerModule serves itself, described like every other. */
function documentationPaths(): Record<string, PathItemObject> {
  return {
    [OPENAPI_JSON_PATH]: {
      get: {
        operationId: 'getOpenApiDocument',
        tags: [TAGS.documentation],
        summary: 'This OpenAPI 3.1 document',
        description:
          'Feed it to a client generator (e.g. `npx openapi-typescript http://localhost:3000/openapi.json`).',
        responses: {
          200: {
            description: 'The document.',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['openapi', 'info', 'paths'],
                  properties: {
                    openapi: { type: 'string', pattern: '^3\\.1\\.' },
                    info: { type: 'object' },
                    paths: { type: 'object' },
                  },
                },
              },
            },
          },
        },
      },
    },
    [DOCS_PATH]: {
      get: {
        operationId: 'getApiDocsPage',
        tags: [TAGS.documentation],
        summary: 'Swagger UI for this document',
        description: "Served from Herald's own dependencies (swagger-ui-dist): works offline.",
        responses: {
          200: { description: 'The Swagger UI page.', content: { 'text/html': { schema: { type: 'string' } } } },
        },
      },
    },
  };
}

/** The OpenAPI document of every route of `app` (controllers' decorators, plus the documentation routes). */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const bearer = (description: string, bearerFormat?: string) =>
    ({ type: 'http', scheme: 'bearer', bearerFormat, description }) as const;
  const builder = new DocumentBuilder()
    .setOpenAPIVersion('3.1.0')
    .setTitle('Herald')
    .setDescription(DESCRIPTION)
    .setVersion(packageVersion())
    .setLicense('MIT', 'https://opensource.org/licenses/MIT')
    .addBearerAuth(
      bearer('PUBLISH_TOKEN or ADMIN_TOKEN, or (with JWT_SECRET) an HS256 JWT whose `publish` claim lists topics.'),
      PUBLISHER_AUTH,
    )
    .addBearerAuth(bearer('ADMIN_TOKEN (generated and logged once at start when unset).'), ADMIN_AUTH)
    .addBearerAuth(
      bearer('Only when METRICS_TOKEN is set: that token, for `/metrics` and `/status` (Prometheus `authorization`).'),
      METRICS_AUTH,
    )
    .addBearerAuth(
      bearer(
        'Only when JWT_SECRET is set: an HS256 JWT with `topics` (allowed topics, `*` matches one segment), ' +
          'optional `tenant` and `exp`. Also accepted as the `access_token` query or the `herald_token` cookie.',
        'JWT',
      ),
      SUBSCRIBER_AUTH,
    );
  for (const name of Object.values(TAGS)) builder.addTag(name, TAG_DESCRIPTIONS[name]);
  const document = SwaggerModule.createDocument(app, {
    ...builder.build(),
    webhooks: { ...ALERT_WEBHOOKS, ...OCCUPANCY_WEBHOOKS },
  });
  document.paths = { ...document.paths, ...documentationPaths() };
  return document;
}

/** Serves the document at /openapi.json and Swagger UI at /docs; the document is built once, on first request. */
export function setupOpenApi(app: INestApplication): void {
  SwaggerModule.setup(DOCS_PATH, app, () => buildOpenApiDocument(app), {
    jsonDocumentUrl: OPENAPI_JSON_PATH,
    raw: ['json'],
    customSiteTitle: 'Herald API',
    // No call to the public validator.swagger.io: the page must work offline and leak nothing.
    swaggerOptions: { validatorUrl: null, displayOperationId: true, docExpansion: 'list', tryItOutEnabled: false },
  });
}
