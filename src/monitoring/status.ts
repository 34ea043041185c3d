/**
 * `GET /status` (docs/operations.md, Metrics, status and dashboard) is the documented `StatusView` class; the
 * name `HeraldStatus` is what the service and callers outside src/ type it by.
 */
export type { StatusView as HeraldStatus } from './dto/status.dto.js';
