import { Controller, Get, Logger, NotFoundException, Param, Req, Res } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiParam, ApiResponse, ApiTags, type HeaderObject } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { join } from 'node:path';
import { packageRoot } from '../config/package-root.js';
import { ApiErrors } from '../openapi/http-error.schema.js';
import { TAGS } from '../openapi/tags.js';
import { etagMatches, StaticAsset } from './static-asset.js';

const JAVASCRIPT = 'text/javascript; charset=utf-8';
/** The bundles' URLs carry no version: browsers may reuse them for 5 minutes, then revalidate (ETag). */
const BUNDLE_CACHE = 'public, max-age=300';
/** The page always revalidates, so a new release is picked up at the next load. */
const PAGE_CACHE = 'no-cache';

const CLIENT_FILES = [
  'herald.js',
  'herald.mjs',
  'herald-worker.js',
  'herald.js.map',
  'herald.mjs.map',
  'herald-worker.js.map',
];

/** Validators sent with every asset, for conditional requests. */
const ASSET_HEADERS: Record<string, HeaderObject> = {
  ETag: { description: 'Strong validator of this build of the file.', required: true, schema: { type: 'string' } },
  'Cache-Control': { required: true, schema: { type: 'string', example: 'public, max-age=300' } },
  'Last-Modified': { required: true, schema: { type: 'string' } },
};

/** `If-None-Match` with the ETag a client holds: 304 while the file is unchanged. */
const IF_NONE_MATCH = {
  name: 'If-None-Match',
  required: false,
  description: 'An ETag from an earlier answer: 304 and no body while the file has not changed.',
};

const NOT_MODIFIED = ApiResponse({
  status: 304,
  description: 'Unchanged since the ETag in `If-None-Match`.',
  headers: { ETag: ASSET_HEADERS.ETag },
});

/**
 * The browser client (`/client/herald.js`, the same module as
 * `/client/herald.mjs` for saving into a project, its SharedWorker
 * `/client/herald-worker.js`, their source maps), built by
 * scripts/build-client.mjs into public/client/, and the example page
 * `/examples/fleet`.
 */
@Controller()
@ApiTags(TAGS.client)
export class ClientAssetsController {
  private readonly logger = new Logger('ClientAssets');
  private readonly client: ReadonlyMap<string, StaticAsset>;
  private readonly fleet: StaticAsset;

  constructor() {
    const root = packageRoot();
    const bundle = (file: string, type: string): [string, StaticAsset] => [
      file,
      new StaticAsset(join(root, 'public', 'client', file), type, BUNDLE_CACHE),
    ];
    this.client = new Map(
      CLIENT_FILES.map((file) => bundle(file, file.endsWith('.map') ? 'application/json; charset=utf-8' : JAVASCRIPT)),
    );
    this.fleet = new StaticAsset(
      join(root, 'public', 'examples', 'fleet.html'),
      'text/html; charset=utf-8',
      PAGE_CACHE,
    );
    if (!this.client.get('herald.js')?.read()) {
      this.logger.warn({ msg: 'client bundle missing: /client/herald.js answers 404 until `npm run build`' });
    }
  }

  @Get('client/:file')
  @ApiOperation({
    operationId: 'getClientFile',
    summary: 'The browser client (ES module), its SharedWorker, and their source maps',
    description:
      "`import { HeraldClient } from '/client/herald.js'`: reconnects with backoff, resumes with " +
      '`Last-Event-ID`, and shares one stream between the tabs of an origin (SharedWorker). ' +
      '`herald.mjs` is the same module under the extension every tool reads as one (Node, bundlers), ' +
      'to save into a project; the npm package `@herald/client` (libs/client) is the same code with types.',
  })
  @ApiParam({ name: 'file', schema: { type: 'string', enum: CLIENT_FILES, example: 'herald.js' } })
  @ApiHeader(IF_NONE_MATCH)
  @ApiResponse({
    status: 200,
    description: 'The file (cached for 5 minutes, then revalidated with its ETag).',
    headers: ASSET_HEADERS,
    content: {
      'text/javascript': { schema: { type: 'string' } },
      'application/json': {
        schema: { type: 'object', description: 'A source map (`.map` files).' },
        example: { version: 3, sources: ['../../libs/client/src/herald-client.ts'], mappings: 'AAAA' },
      },
    },
  })
  @NOT_MODIFIED
  @ApiErrors({
    404: {
      description: 'No such client file, or the client was not built (`npm run build`).',
      examples: { unknown: 'no client file "other.js"', notBuilt: 'the client is not built: run `npm run build`' },
    },
  })
  clientFile(@Param('file') file: string, @Req() req: Request, @Res() res: Response): void {
    const asset = this.client.get(file);
    if (!asset) throw new NotFoundException(`no client file ${JSON.stringify(file)}`);
    this.send(asset, req, res);
  }

  @Get('examples/fleet')
  @ApiOperation({
    operationId: 'getFleetExample',
    summary: 'A multi-tab example page built on the browser client',
    description: 'Open it in several tabs: they share one stream.',
  })
  @ApiHeader(IF_NONE_MATCH)
  @ApiResponse({
    status: 200,
    description: 'The page (always revalidated).',
    headers: ASSET_HEADERS,
    content: { 'text/html': { schema: { type: 'string' } } },
  })
  @NOT_MODIFIED
  @ApiErrors({
    404: {
      description: 'The example was not built.',
      examples: { notBuilt: 'the client is not built: run `npm run build`' },
    },
  })
  fleetPage(@Req() req: Request, @Res() res: Response): void {
    this.send(this.fleet, req, res);
  }

  private send(asset: StaticAsset, req: Request, res: Response): void {
    const current = asset.read();
    if (!current) throw new NotFoundException('the client is not built: run `npm run build`');
    res.setHeader('Cache-Control', asset.cacheControl);
    res.setHeader('ETag', current.etag);
    res.setHeader('Last-Modified', current.lastModified);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (etagMatches(req.headers['if-none-match'], current.etag)) {
      res.status(304).end();
      return;
    }
    res.status(200).setHeader('Content-Type', asset.contentType);
    res.setHeader('Content-Length', current.body.length);
    res.end(current.body);
  }
}
