import {
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  getSchemaPath,
  type HeaderObject,
  type MediaTypeObject,
} from '@nestjs/swagger';
import { composed } from '../openapi/compose.js';
import { ApiErrors } from '../openapi/http-error.schema.js';
import { ApiAdminAuth } from '../openapi/security.js';
import { DashboardHistoryFrame, DashboardSnapshotFrame } from './dto/dashboard.dto.js';
import { StatusView } from './dto/status.dto.js';

/** The OpenAPI side of `/status`, `/metrics` and the dashboard: one decorator per route. */

const NO_STORE: Record<string, HeaderObject> = {
  'Cache-Control': { required: true, schema: { type: 'string', enum: ['no-store'] } },
};

/** `GET /status`. */
export function ApiStatus(): MethodDecorator {
  return composed(
    ApiOperation({
      operationId: 'getStatus',
      summary: 'A JSON snapshot of connections, memory (with leak detection), throughput and firing alerts',
      description:
        'Open unless METRICS_TOKEN is set (then Bearer that token), like `/metrics`; keep it off the public ' +
        'internet either way (it lists the busiest client IPs). ' +
        'Rates and percentiles are as of the last monitoring snapshot (SNAPSHOT_INTERVAL_MS).',
    }),
    ApiOkResponse({
      type: StatusView,
      description: 'The snapshot. Fields are only ever added, never renamed.',
      headers: NO_STORE,
    }),
  );
}

/** `GET /metrics`. */
export function ApiMetrics(): MethodDecorator {
  return composed(
    ApiOperation({
      operationId: 'getMetrics',
      summary: 'Prometheus metrics (text exposition format)',
      description:
        '`herald_*` (connections active/opened/closed/refused by reason, events published, deliveries, delivery ' +
        'bytes and latency, capacity ratio, leak suspected, alert notifications) plus the default `process_*` ' +
        'and `nodejs_*`. Passes `promtool check metrics`. Open unless METRICS_TOKEN is set (then Bearer that ' +
        'token); either way scrape it from inside your network, never through the public proxy.',
    }),
    ApiOkResponse({
      description: 'The exposition, `text/plain; version=0.0.4`.',
      headers: NO_STORE,
      content: {
        'text/plain': {
          schema: { type: 'string' },
          example:
            '# HELP herald_connections_active Open SSE streams.\n# TYPE herald_connections_active gauge\n' +
            'herald_connections_active 4213\n',
        },
      },
    }),
  );
}

/** What the dashboard page and its files are sent with (the controller's PAGE_HEADERS), as documented. */
const PAGE_HEADER_DOCS: Record<string, HeaderObject> = {
  'Content-Security-Policy': {
    description: 'Scripts, styles and the feed from Herald only; no framing.',
    required: true,
    schema: { type: 'string', pattern: "default-src 'none'" },
  },
  'Cache-Control': { required: true, schema: { type: 'string', enum: ['no-cache'] } },
};

/** `GET /dashboard`. */
export function ApiDashboardPage(): MethodDecorator {
  return composed(
    ApiOperation({
      operationId: 'getDashboard',
      summary: 'The live dashboard page (HTML)',
      description:
        'Holds no data: it reads `GET /dashboard/stream` with the admin token, taken from the URL fragment ' +
        '(`/dashboard#token=…`, never sent to the server in a URL) or asked for.',
    }),
    ApiOkResponse({
      description: 'The page.',
      headers: PAGE_HEADER_DOCS,
      content: { 'text/html': { schema: { type: 'string' } } },
    }),
  );
}

/** `GET /dashboard/stream`: admin-only, its frames under `x-itemSchema`. */
export function ApiDashboardStream(): MethodDecorator {
  return composed(
    ApiAdminAuth(),
    ApiOperation({
      operationId: 'streamDashboard',
      summary: "The dashboard's live feed (Server-Sent Events)",
      description:
        '`retry: 2000`, then `event: history` (chart points and limits), then `event: snapshot` at once and after ' +
        'every monitoring snapshot; `: hb` every 15 s while idle. Frames are skipped, not queued, for a reader ' +
        'more than 256 KB behind.',
    }),
    ApiOkResponse({
      description: 'The feed.',
      content: {
        'text/event-stream': {
          schema: { type: 'string' },
          'x-itemSchema': {
            anyOf: [{ $ref: getSchemaPath(DashboardHistoryFrame) }, { $ref: getSchemaPath(DashboardSnapshotFrame) }],
          },
        } as MediaTypeObject,
      },
    }),
  );
}

/** `GET /dashboard/{asset}`. */
export function ApiDashboardAsset(): MethodDecorator {
  return composed(
    ApiOperation({
      operationId: 'getDashboardAsset',
      summary: "The dashboard's scripts and styles (Chart.js from Herald's own node_modules: works offline)",
    }),
    ApiParam({
      name: 'asset',
      schema: {
        type: 'string',
        enum: ['dashboard.js', 'dashboard.css', 'chart.umd.min.js', 'index.html'],
        example: 'dashboard.js',
      },
    }),
    ApiOkResponse({
      description: 'The file.',
      headers: PAGE_HEADER_DOCS,
      content: {
        'text/javascript': { schema: { type: 'string' } },
        'text/css': { schema: { type: 'string' } },
        'text/html': { schema: { type: 'string' } },
      },
    }),
    ApiErrors({ 404: { description: 'No such asset.', examples: { unknown: 'no dashboard asset "x.js"' } } }),
  );
}
