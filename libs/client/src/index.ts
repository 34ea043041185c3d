export { HeraldClient } from './herald-client.js';
export type {
  ClientMetrics,
  ConnectionState,
  EventHandler,
  EventMeta,
  HeraldClientOptions,
  HeraldError,
  HeraldErrorKind,
  LatencySummary,
  PresenceInfo,
  ResetInfo,
  StreamTransport,
  SubscribeOptions,
  TokenSource,
} from './types.js';
