import { Controller, Get, Logger, NotFoundException, Param, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { etagMatches, StaticAsset } from './static-asset.js';

const JAVASCRIPT = 'text/javascript; charset=utf-8';
/** The bundles' URLs carry no version: browsers may reuse them for 5 minutes, then revalidate (ETag). */
const BUNDLE_CACHE = 'public, max-age=300';
/** The page always revalidates, so a new release is picked up at the next load. */
const PAGE_CACHE = 'no-cache';

/** The directory holding package.json: `src/` in development, `dist/src/` once built, both under it. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('client-assets: package.json not found above this module');
    dir = parent;
  }
  return dir;
}

/**
 * The browser client (`/client/herald.js`, its SharedWorker
 * `/client/herald-worker.js`, their source maps), built by
 * scripts/build-client.mjs into public/client/, and the example page
 * `/examples/fleet`.
 */
@Controller()
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
    this.client = new Map([
      bundle('herald.js', JAVASCRIPT),
      bundle('herald-worker.js', JAVASCRIPT),
      bundle('herald.js.map', 'application/json; charset=utf-8'),
      bundle('herald-worker.js.map', 'application/json; charset=utf-8'),
    ]);
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
  clientFile(@Param('file') file: string, @Req() req: Request, @Res() res: Response): void {
    const asset = this.client.get(file);
    if (!asset) throw new NotFoundException(`no client file ${JSON.stringify(file)}`);
    this.send(asset, req, res);
  }

  @Get('examples/fleet')
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
