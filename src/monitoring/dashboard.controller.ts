import { Controller, Get, Inject, NotFoundException, Param, Res, UseGuards } from '@nestjs/common';
import { Sse, SseStream, type EventStream, type MessageEvent } from '@herald/nest-sse';
import { ApiExtraModels, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Observable } from 'rxjs';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { AdminGuard } from '../auth/admin.guard.js';
import { HERALD_CONFIG, type HeraldConfig } from '../config/herald-config.js';
import { packageRoot } from '../config/package-root.js';
import { TAGS } from '../openapi/tags.js';
import { DASHBOARD_MODELS } from './dto/dashboard.dto.js';
import { ApiDashboardAsset, ApiDashboardPage, ApiDashboardStream } from './monitoring.openapi.js';
import { MonitoringService } from './monitoring.service.js';

/** Recent alert-history entries in each dashboard frame. */
const RECENT_ALERTS = 20;
/** A dashboard that does not read is skipped, not buffered without bound. */
const MAX_UNSENT_BYTES = 256 * 1024;
const HEARTBEAT_MS = 15_000;

interface Asset {
  file: string;
  type: string;
}

function dashboardAssets(): Record<string, Asset> {
  const dashboard = join(packageRoot(), 'public', 'dashboard');
  // Chart.js from node_modules, served by Herald itself: the page works offline, no CDN.
  const chartJs = join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js');
  return {
    'index.html': { file: join(dashboard, 'index.html'), type: 'text/html; charset=utf-8' },
    'dashboard.js': { file: join(dashboard, 'dashboard.js'), type: 'text/javascript; charset=utf-8' },
    'dashboard.css': { file: join(dashboard, 'dashboard.css'), type: 'text/css; charset=utf-8' },
    'chart.umd.min.js': { file: chartJs, type: 'text/javascript; charset=utf-8' },
  };
}

const PAGE_HEADERS = {
  // Scripts and styles only from Herald; the stream is fetched from Herald too.
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-cache',
};

/**
 * `GET /dashboard`: a static page and its scripts (no data in them), and the
 * admin-authenticated SSE feed the page reads with `fetch` and an
 * `Authorization` header, so the token (from the URL fragment) never appears
 * in a URL the server or a proxy logs.
 */
@Controller('dashboard')
@ApiTags(TAGS.operations)
@ApiExtraModels(...DASHBOARD_MODELS)
export class DashboardController {
  private assets: Record<string, Asset> | undefined;
  private readonly cache = new Map<string, Buffer>();

  constructor(
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    private readonly monitoring: MonitoringService,
  ) {}

  @Get()
  @ApiDashboardPage()
  page(@Res() res: Response): void {
    this.send(res, 'index.html');
  }

  @Sse('stream')
  @UseGuards(AdminGuard)
  @ApiDashboardStream()
  stream(@SseStream() stream: EventStream): Observable<MessageEvent> {
    stream.retryMs = 2000;
    stream.heartbeatMs = HEARTBEAT_MS;
    const snapshot = (): MessageEvent => ({
      type: 'snapshot',
      data: {
        status: this.monitoring.status(),
        point: this.monitoring.chartLatest() ?? null,
        recentAlerts: this.monitoring.recentAlerts(RECENT_ALERTS),
      },
    });
    return new Observable<MessageEvent>((subscriber) => {
      subscriber.next({
        type: 'history',
        data: {
          points: this.monitoring.chartHistory(),
          snapshotIntervalMs: this.config.snapshotIntervalMs,
          maxConnections: this.config.maxConnections,
          capacityThreshold: this.config.capacityThreshold,
        },
      });
      subscriber.next(snapshot());
      return this.monitoring.onSnapshot(() => {
        if (stream.unsentBytes <= MAX_UNSENT_BYTES) subscriber.next(snapshot());
      });
    });
  }

  @Get(':asset')
  @ApiDashboardAsset()
  asset(@Param('asset') name: string, @Res() res: Response): void {
    this.send(res, name);
  }

  private send(res: Response, name: string): void {
    this.assets ??= dashboardAssets();
    const asset = Object.hasOwn(this.assets, name) ? this.assets[name] : undefined;
    if (asset === undefined) throw new NotFoundException(`no dashboard asset ${JSON.stringify(name)}`);
    let body = this.cache.get(name);
    if (body === undefined) {
      body = readFileSync(asset.file);
      this.cache.set(name, body);
    }
    res.set({ ...PAGE_HEADERS, 'Content-Type': asset.type }).send(body);
  }
}
